import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { bundledDxRunner } from '@dx/cli/locate';
import {
  dxRunnerCommand,
  DxRunnerError,
  ExitCode,
  expandHome,
  isDxError,
  itemWorktreeCandidates,
  Redactor,
  signalsForChild,
  visibleText,
  type Policy,
} from '@dx/core';

/** How the shims reach dx-runner: DX_RUNNER_BIN, else `dx-runner` on PATH, else the @dx/cli we ship with. */
export function dxRunnerArgv(env: NodeJS.ProcessEnv): string[] {
  return dxRunnerCommand(env, bundledDxRunner());
}

/** Runs dx-runner with our stdio, so its output and exit code are the user's; signals are passed on. */
export function runDxRunner(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [cmd, ...prefix] = dxRunnerArgv(env);
  return new Promise((resolve) => {
    const child = spawn(cmd, [...prefix, ...args], { env, stdio: ['inherit', 'inherit', 'inherit'] });
    const signal = signalsForChild(child);
    const pass = (sig: NodeJS.Signals) => void signal(sig);
    process.on('SIGINT', pass).on('SIGTERM', pass);
    child.on('error', (err) => {
      process.stderr.write(
        `Error: cannot run dx-runner (${(err as NodeJS.ErrnoException).code ?? err.message}); set DX_RUNNER_BIN (reason_code=dx_runner_missing)\n`,
      );
      resolve(127);
    });
    child.on('close', (code, signal) => {
      process.off('SIGINT', pass).off('SIGTERM', pass);
      resolve(code ?? (signal === 'SIGINT' ? 130 : 143));
    });
  });
}

/** Shell-quoted, so the deprecation line can be copied and run. */
export function shellLine(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** One `[DEPRECATION]` line per call naming the dx-runner equivalent; DX_DISPATCH_NO_DEPRECATION=1 silences it. */
export function deprecation(tool: string, equivalent: string[], env: NodeJS.ProcessEnv): void {
  if (env.DX_DISPATCH_NO_DEPRECATION === '1') return;
  process.stderr.write(
    `[DEPRECATION] ${tool} is a compatibility shim; use: ${shellLine(['dx-runner', ...equivalent])}\n`,
  );
}

/** Legacy flags that have no dx-runner counterpart: named in one line, never dropped silently. */
export function explainIgnored(tool: string, ignored: Array<{ flag: string; why: string }>): void {
  if (ignored.length === 0) return;
  process.stderr.write(
    `[${tool}] ignored (no dx-runner counterpart): ${ignored.map((i) => `${i.flag} (${i.why})`).join('; ')}\n`,
  );
}

/** One line, exit 1 like every bin's usage error (the usage text is one `--help` away). */
/**
 * Any error a shim meets ends it as one line with a reason code, and this is the exit code to end
 * with. One no code foresaw (a bug, the system refusing something unforeseen) may hold anything: it
 * is redacted and named `internal_error` (exit 1), as dx-runner does; DEBUG=1 adds its stack.
 */
export function reportError(err: unknown, env: NodeJS.ProcessEnv): number {
  const known = isDxError(err) || err instanceof DxRunnerError ? err : undefined;
  const redactor = Redactor.fromEnv([env]);
  const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ').trim();
  process.stderr.write(
    `Error: ${visibleText(redactor.redact(message))} (reason_code=${known?.reasonCode ?? 'internal_error'})\n`,
  );
  if (!known && env.DEBUG && err instanceof Error && err.stack) process.stderr.write(`${redactor.redact(err.stack)}\n`);
  return known?.exitCode || 1;
}

export function usageError(tool: string, message: string): number {
  process.stderr.write(`Error: ${message}; see ${tool} --help (reason_code=usage)\n`);
  return ExitCode.usage;
}

/**
 * The legacy `--repo NAME` names a repository, not a worktree: a directory path is used as is, a
 * name means the dx-worktree checkout `<allowed prefix>/<beads>/<NAME>`; otherwise dx-runner picks its default.
 */
export function worktreeForRepo(
  repo: string,
  beads: string,
  policy: Policy,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (repo.includes('/') || repo.startsWith('.')) {
    const direct = path.resolve(expandHome(repo, env));
    return fs.existsSync(direct) && fs.statSync(direct).isDirectory() ? direct : undefined;
  }
  return itemWorktreeCandidates(policy.worktrees.allowedPrefixes, beads, repo)[0];
}
