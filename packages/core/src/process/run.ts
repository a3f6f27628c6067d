import type { RunToolResult } from '../providers/hook.js';

/** Run a command to completion with a timeout, stdin closed, never throwing on a non-zero exit. */
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
