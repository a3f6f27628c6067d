import { DxError, ExitCode } from '../errors.js';
import type { LaunchRequest } from './contract.js';
import type { CoreServices, RunToolResult } from './hook.js';

/**
 * The agent environment: the caller's env (agents run tests that need it) with HOME, XDG dirs and
 * TMPDIR pointed into the job's private directories, because the real CLIs write into both.
 */
export function childEnv(request: LaunchRequest, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, {
    HOME: request.jobHome,
    XDG_CONFIG_HOME: `${request.jobHome}/.config`,
    XDG_DATA_HOME: `${request.jobHome}/.local/share`,
    XDG_STATE_HOME: `${request.jobHome}/.local/state`,
    XDG_CACHE_HOME: `${request.jobHome}/.cache`,
    TMPDIR: request.jobTmp,
    TMP: request.jobTmp,
    TEMP: request.jobTmp,
  });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export async function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<RunToolResult> {
  const { execa } = await import('execa');
  const result = await execa(command, args, {
    cwd: options.cwd,
    env: options.env,
    extendEnv: options.env === undefined,
    timeout: options.timeoutMs ?? 30_000,
    reject: false,
    stdin: 'ignore',
    killSignal: 'SIGKILL',
    forceKillAfterDelay: 1000,
    maxBuffer: 16 * 1024 * 1024,
  });
  const errorCode = (result as { code?: string }).code;
  return {
    exitCode: typeof result.exitCode === 'number' ? result.exitCode : result.failed ? 127 : 0,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    timedOut: Boolean(result.timedOut),
    errorCode: errorCode ?? (result.failed && result.exitCode === undefined ? 'ENOENT' : undefined),
  };
}

export const coreServices: CoreServices = { runTool, childEnv };

export function unknownProviderError(id: string, known: string[]): DxError {
  return new DxError(`unknown provider "${id}" (available: ${known.length > 0 ? known.join(', ') : 'none installed'})`, {
    exitCode: ExitCode.providerNotFound,
    reasonCode: 'provider_not_found',
    nextAction: 'pass_one_of_the_available_providers_or_install_its_plugin',
  });
}
