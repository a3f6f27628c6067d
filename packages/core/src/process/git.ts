import { spawn } from 'node:child_process';
import { positiveNumberFromEnv } from '../jobs/limits.js';
import { signalsForChild } from './signals.js';

export interface GitResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Ended (with what it ran: a clean filter, a hook) because it took longer than its bound. */
  timedOut?: boolean;
}

/**
 * The variables that tell git which repository to use (`git rev-parse --local-env-vars`, less the
 * `-c` configuration ones): set by a git hook, an alias or a CI step that called dx-runner, they
 * name the caller's repository. A job's git is its worktree's — with them, core's reads and the
 * agent's commits went to the caller's repository instead.
 */
const REPOSITORY_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_COMMON_DIR',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_GRAFT_FILE',
  'GIT_SHALLOW_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_QUARANTINE_PATH',
];

/** `env` without the variables that point git at another repository than the one in cwd. */
export function withoutRepositoryEnv<E extends Record<string, string | undefined>>(env: E): E {
  if (!REPOSITORY_ENV.some((name) => env[name] !== undefined)) return env;
  const copy = { ...env };
  for (const name of REPOSITORY_ENV) delete copy[name];
  return copy;
}

/**
 * Run git read-only in `cwd` (with `env`, the caller's by default). `--no-optional-locks` keeps a query from taking index.lock while an
 * agent runs git in the same worktree; LC_ALL=C keeps messages parseable.
 */
export function git(
  cwd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
  options: { timeoutMs?: number } = {},
): Promise<GitResult> {
  const gitEnv = { ...withoutRepositoryEnv(env), GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C', GIT_TERMINAL_PROMPT: '0' };
  return gitWithin(cwd, ['--no-optional-locks', ...args], gitEnv, options.timeoutMs ?? defaultTimeoutMs());
}

/** DX_RUNNER_GIT_TIMEOUT_SEC, else 300 s (an invalid value is refused, `invalid_env`). */
function defaultTimeoutMs(): number {
  return positiveNumberFromEnv(process.env, 'DX_RUNNER_GIT_TIMEOUT_SEC', 300) * 1000;
}

/**
 * git bounded in time. `git status` runs a file's clean filter (git-lfs, git-crypt) and the
 * fsmonitor hook: one that hangs (a gpg waiting for a passphrase no one types) held the watcher's
 * final worktree check, and the job's outcome, forever. git runs in a process group of its own,
 * ended whole (its filter with it) when the bound passes.
 */
function gitWithin(cwd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<GitResult> {
  return new Promise((resolve) => {
    const child = spawn('git', args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    // the group is git's own (detached): ended through the one identity-checked path
    const signal = signalsForChild(child);
    const timer = setTimeout(() => {
      timedOut = true;
      signal('SIGKILL', 'group');
    }, timeoutMs);
    const endGroup = () => void signal('SIGKILL', 'group');
    endWithThisProcess(endGroup);
    const done = (code: number) => {
      clearTimeout(timer);
      gitsInFlight.delete(endGroup);
      resolve({
        code: timedOut ? 124 : code,
        stdout: timedOut ? '' : Buffer.concat(out).toString('utf8'),
        stderr: timedOut
          ? `git ${args[1] ?? ''} did not answer within ${timeoutMs} ms`
          : Buffer.concat(err).toString('utf8'),
        timedOut: timedOut || undefined,
      });
    };
    child.once('error', () => done(127));
    child.once('close', (code) => done(code ?? 128));
  });
}

/**
 * The groups of the git calls in flight. A process that exits while one runs (a watcher writing its
 * outcome while a poll's `git status` waits on a clean filter) no longer ends it when its bound
 * passes: git and the filter it ran (a gpg waiting for a passphrase) were left running for good.
 * They are ended with the process.
 */
const gitsInFlight = new Set<() => void>();

function endWithThisProcess(endGroup: () => void): void {
  if (gitsInFlight.size === 0 && !exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', () => {
      for (const end of gitsInFlight) end();
    });
  }
  gitsInFlight.add(endGroup);
}
let exitHookInstalled = false;
