import os from 'node:os';
import { spawn } from 'node:child_process';
import type { RunToolResult } from '../providers/hook.js';
import { signalsForChild } from './signals.js';
import { setLongTimeout } from './timers.js';

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
  // ended by a signal (ours on timeout, or a signal sent to its whole process group): it ran, and
  // may have done its work; not a command that could not be started
  const signal = result.signal ?? undefined;
  const signalled = signal !== undefined && result.exitCode === undefined;
  return {
    exitCode:
      typeof result.exitCode === 'number'
        ? result.exitCode
        : signalled
          ? 128 + (os.constants.signals[signal] ?? 0)
          : result.failed
            ? 127
            : 0,
    stdout: String(result.stdout ?? ''),
    stderr: String(result.stderr ?? ''),
    timedOut: Boolean(result.timedOut),
    ...(signalled ? { signal } : {}),
    errorCode: errorCode ?? (result.failed && result.exitCode === undefined && !signalled ? 'ENOENT' : undefined),
  };
}

export type ChildRun =
  | { outcome: 'exited'; code: number; stdout: string; stderr: string }
  | { outcome: 'timed_out'; stdout: string; stderr: string }
  | { outcome: 'not_started'; error: NodeJS.ErrnoException };

/**
 * Run a short command without execa (the typed client's transports run on every poll: no import
 * cost): `stdin` written then closed (ignored when absent), output gathered, SIGKILLed by identity
 * (pid + start time) past `timeoutMs`. Never rejects; the caller names what each outcome means.
 */
export function runChild(
  command: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; stdin?: string; timeoutMs: number },
): Promise<ChildRun> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    // a command that exits before reading its stdin must not crash us with EPIPE
    child.stdin?.on('error', () => undefined);
    if (options.stdin !== undefined) child.stdin?.end(options.stdin);
    let stdout = '';
    let stderr = '';
    // decoded as a stream: a character split between two reads of the pipe (an SSH packet, 64 KB
    // of a pipe) arrives whole, not as two U+FFFD
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const signal = signalsForChild(child);
    let timedOut = false;
    const timer = setLongTimeout(() => {
      timedOut = true;
      signal('SIGKILL');
    }, options.timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      timer.clear();
      resolve({ outcome: 'not_started', error });
    });
    child.on('close', (code, sig) => {
      timer.clear();
      if (timedOut && sig === 'SIGKILL') resolve({ outcome: 'timed_out', stdout, stderr });
      // a signal from elsewhere (one sent to the whole process group) reads as the shell shows it
      else resolve({ outcome: 'exited', code: code ?? 128 + (os.constants.signals[sig!] ?? 0), stdout, stderr });
    });
  });
}
