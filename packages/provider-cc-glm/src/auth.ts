import type { CoreServices } from '@dx/core';

/**
 * The original cc-glm token precedence: CC_GLM_AUTH_TOKEN, else the file named by
 * CC_GLM_TOKEN_FILE, else ZAI_API_KEY. The token goes to the child's env only.
 */
export interface TokenResolution {
  token?: string;
  source: 'CC_GLM_AUTH_TOKEN' | 'CC_GLM_TOKEN_FILE' | 'ZAI_API_KEY' | 'none';
  /** Why no usable token was found (never contains the token). */
  problem?: string;
}

/** A token file holds one token: anything past this is not one. */
const MAX_TOKEN_FILE_BYTES = 64 * 1024;

export function resolveToken(
  env: NodeJS.ProcessEnv,
  readOperatorFile: CoreServices['readOperatorFile'],
): TokenResolution {
  const direct = env.CC_GLM_AUTH_TOKEN?.trim();
  if (direct) return { token: direct, source: 'CC_GLM_AUTH_TOKEN' };
  const file = env.CC_GLM_TOKEN_FILE?.trim();
  if (file) {
    // a token through a pipe (`<(pass show zai)`) is read once: preflight and launch share it
    const read = readOperatorFile(file, MAX_TOKEN_FILE_BYTES);
    if ('problem' in read)
      return { source: 'CC_GLM_TOKEN_FILE', problem: `CC_GLM_TOKEN_FILE ${file}: ${read.problem}` };
    const token = read.text.trim();
    if (!token) return { source: 'CC_GLM_TOKEN_FILE', problem: `CC_GLM_TOKEN_FILE ${file} is empty` };
    return { token, source: 'CC_GLM_TOKEN_FILE' };
  }
  const zai = env.ZAI_API_KEY?.trim();
  if (zai) {
    if (zai.startsWith('op://')) {
      return {
        source: 'ZAI_API_KEY',
        problem:
          'ZAI_API_KEY is a 1Password reference (op://…); dx-runner does not resolve secrets: export the key itself or use CC_GLM_TOKEN_FILE',
      };
    }
    return { token: zai, source: 'ZAI_API_KEY' };
  }
  return { source: 'none', problem: 'no Z.ai token: set CC_GLM_AUTH_TOKEN, CC_GLM_TOKEN_FILE or ZAI_API_KEY' };
}
