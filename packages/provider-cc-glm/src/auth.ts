import fs from 'node:fs';

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

export function resolveToken(env: NodeJS.ProcessEnv): TokenResolution {
  const direct = env.CC_GLM_AUTH_TOKEN?.trim();
  if (direct) return { token: direct, source: 'CC_GLM_AUTH_TOKEN' };
  const file = env.CC_GLM_TOKEN_FILE?.trim();
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code})`;
      return { source: 'CC_GLM_TOKEN_FILE', problem: `CC_GLM_TOKEN_FILE ${file} ${why}` };
    }
    const token = text.trim();
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
