import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject, onTestFailed } from 'vitest';
import type { z } from 'zod';
import { identify, sendSignal } from '@dx/core';
import { BATCH_BIN, CLI_BIN } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Sandbox {
  dir: string;
  state: string;
  agents: string;
  env: Record<string, string>;
  dx(
    args: string[],
    options?: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number; wrap?: string[] },
  ): Promise<CliResult>;
  dxJson<S extends z.ZodType>(
    args: string[],
    schema: S,
    options?: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number },
  ): Promise<CliResult & { json: z.output<S> }>;
  /** Runs the dx-batch bin with the sandbox's env (DX_BATCH_DIR inside the sandbox). */
  batch(
    args: string[],
    options?: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number; wrap?: string[] },
  ): Promise<CliResult>;
  /** Runs another bin of the toolkit (dx-dispatch, cc-glm-job, nightly-dispatch) with the sandbox's env. */
  bin(
    bin: string,
    args: string[],
    options?: { env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number; wrap?: string[] },
  ): Promise<CliResult>;
  worktree(name: string): string;
  prompt(script: unknown, name?: string): string;
  /** `dx-runner start` arguments for a fake job playing `steps` (default: a fresh worktree named after it). */
  fakeStartArgs(beads: string, steps: unknown[], worktree?: string): string[];
  /** `dx-runner start` of a fake job playing `steps`, in a fresh worktree named after it; `extra` flags appended. */
  startFake(
    beads: string,
    steps: unknown[],
    extra?: string[],
    options?: { env?: Record<string, string | undefined> },
  ): Promise<CliResult & { worktree: string }>;
  cleanup(): Promise<void>;
}

/** Fast limits so lifecycle tests take seconds; individual tests override what they exercise. */
export const FAST_LIMITS: Record<string, string> = {
  DX_RUNNER_HEARTBEAT_INTERVAL_MS: '100',
  DX_RUNNER_MUTATION_POLL_SEC: '0.3',
  DX_RUNNER_KILL_GRACE_SEC: '1',
  DX_RUNNER_FINAL_EXIT_GRACE_SEC: '5',
  DX_RUNNER_MAX_PARALLEL_FAKE: '50',
};

export function runCli(
  args: string[],
  env: Record<string, string | undefined>,
  cwd: string,
  timeoutMs = 60_000,
  wrap: string[] = [],
  bin = CLI_BIN,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const [command, ...prefix] = wrap.length > 0 ? [...wrap, process.execPath] : [process.execPath];
    const child = spawn(command, [...prefix, bin, ...args], { env: env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const label = `${path.basename(path.dirname(path.dirname(bin)))} ${args.join(' ')}`;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} timed out after ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    let running = true;
    const startedAt = Date.now();
    child.on('close', (code) => {
      running = false;
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    // A test that times out says only where it waited; name the command still running, what it
    // printed, the processes under it and the locks held, so a rare hang in CI can be diagnosed.
    whenTestFails(() => {
      if (!running || child.pid === undefined) return;
      const report = [
        `still running when the test failed (${Date.now() - startedAt} ms): ${label}`,
        `stdout: ${stdout.slice(-2000)}`,
        `stderr: ${stderr.slice(-2000)}`,
        'processes:',
        ...describeProcessTree(child.pid),
        'locks:',
        ...describeLocks(env.DX_RUNNER_STATE_DIR),
      ].join('\n');
      child.kill('SIGKILL');
      throw new Error(report);
    });
  });
}

/** onTestFailed when called from inside a test; nothing from a hook or outside vitest. */
function whenTestFails(handler: () => void): void {
  try {
    onTestFailed(handler);
  } catch {
    // not inside a test body: a failure there names its own cause
  }
}

/** pid, state, wait channel and command line of `pid` and every process under it. */
function describeProcessTree(pid: number, depth = 0): string[] {
  const read = (file: string): string => {
    try {
      return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
    } catch {
      return '';
    }
  };
  const cmdline = read('cmdline').split('\0').join(' ').trim();
  if (!cmdline || depth > 8) return [];
  const state = /^State:\s+(.*)$/m.exec(read('status'))?.[1] ?? '?';
  const lines = [`${'  '.repeat(depth)}${pid} [${state}, wchan ${read('wchan') || '-'}] ${cmdline.slice(0, 300)}`];
  for (const child of read(`task/${pid}/children`).split(/\s+/).filter(Boolean))
    lines.push(...describeProcessTree(Number(child), depth + 1));
  return lines;
}

function describeLocks(stateDir: string | undefined): string[] {
  if (!stateDir) return [];
  const dir = path.join(stateDir, '.locks');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return ['(none)'];
  }
  return names.map((name) => {
    let content: string;
    try {
      content = fs.readFileSync(path.join(dir, name), 'utf8').replace(/\n/g, ' ');
    } catch (err) {
      content = (err as Error).message;
    }
    return `  ${name}: ${content}`;
  });
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=Test', '-c', 'user.email=test@example.invalid', '-c', 'init.defaultBranch=main', ...args],
    {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ).trim();
}

/**
 * A clean filter for `*.txt` in `wt` that hangs (`sleep sleepSec`, a distinct number to find it by)
 * once a file holds "HANG", as git-crypt's gpg waiting for a passphrase; `notes.txt` is committed
 * as "HANX": writing "HANG" keeps its size, so git must read it through the filter to tell it
 * changed.
 */
export function hangingCleanFilter(wt: string, sleepSec: number): void {
  fs.writeFileSync(path.join(wt, '.gitattributes'), '*.txt filter=hang\n');
  fs.writeFileSync(path.join(wt, 'notes.txt'), 'HANX\n');
  git(wt, 'add', '.gitattributes', 'notes.txt');
  git(wt, 'commit', '-q', '-m', 'attributes');
  git(
    wt,
    'config',
    'filter.hang.clean',
    `sh -c 'c=$(cat); case "$c" in *HANG*) sleep ${sleepSec};; esac; printf %s "$c"'`,
  );
}

/** True when the process was started with this sandbox's state root in its environment: one of the test's own. */
function startedBySandbox(pid: number, state: string): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`DX_RUNNER_STATE_DIR=${state}`);
  } catch {
    return false;
  }
}

/** Every process running now whose environment names this sandbox's state root: the test's own. */
function sandboxProcesses(state: string): number[] {
  return fs
    .readdirSync('/proc')
    .map(Number)
    .filter((pid) => pid !== process.pid && startedBySandbox(pid, state));
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * End every process a test left behind: those whose environment names this sandbox's state root (a
 * directory only this test made), found in /proc — never a pid read from a record, which a forged
 * or stale one could point anywhere — each by pid + the start time read with it (never by name).
 * A few passes, for a watcher caught forking its agent; bounded.
 */
export function killJobProcesses(state: string): void {
  for (let pass = 0; pass < 5; pass++) {
    const left = sandboxProcesses(state).flatMap((pid) => identify(pid) ?? []);
    if (left.length === 0) return;
    for (const proc of left) sendSignal(proc, 'SIGKILL');
    Atomics.wait(pause, 0, 0, 50);
  }
}

/** A `--json` call's result with its output parsed by `schema`; an answer that is not JSON throws, naming it. */
export function withJson<S extends z.ZodType>(result: CliResult, schema: S): CliResult & { json: z.output<S> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(result.stdout);
  } catch {
    throw new Error(`not JSON (exit ${result.code}): ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return { ...result, json: schema.parse(parsed) };
}

export function createSandbox(extraEnv: Record<string, string> = {}): Sandbox {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-e2e-')));
  const state = path.join(dir, 'state');
  const agents = path.join(dir, 'agents');
  const home = path.join(dir, 'home');
  fs.mkdirSync(agents, { recursive: true });
  fs.mkdirSync(home, { recursive: true });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    TMPDIR: dir,
    NODE_ENV: 'production',
    DX_RUNNER_DATA_DIR: inject('pluginDataDir'),
    DX_RUNNER_STATE_DIR: state,
    DX_RUNNER_EXTRA_ALLOWED_PREFIXES: agents,
    DX_BATCH_DIR: path.join(dir, 'batch'),
    OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
    ...FAST_LIMITS,
    ...extraEnv,
  };
  const sandbox: Sandbox = {
    dir,
    state,
    agents,
    env,
    dx(args, options = {}) {
      return runCli(args, { ...env, ...options.env }, options.cwd ?? dir, options.timeoutMs, options.wrap);
    },
    async dxJson(args, schema, options = {}) {
      return withJson(await sandbox.dx([...args, '--json'], options), schema);
    },
    batch(args, options = {}) {
      return sandbox.bin(BATCH_BIN, args, options);
    },
    bin(bin, args, options = {}) {
      return runCli(
        args,
        { ...env, ...options.env },
        options.cwd ?? dir,
        options.timeoutMs ?? 120_000,
        options.wrap ?? [],
        bin,
      );
    },
    worktree(name) {
      const wt = path.join(agents, name, 'repo');
      fs.mkdirSync(wt, { recursive: true });
      git(wt, 'init', '-q');
      fs.writeFileSync(path.join(wt, 'README.md'), `# ${name}\n`);
      git(wt, 'add', '-A');
      git(wt, 'commit', '-q', '-m', 'initial commit');
      return wt;
    },
    prompt(script, name = `prompt-${Math.random().toString(36).slice(2)}.json`) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, typeof script === 'string' ? script : JSON.stringify(script));
      return file;
    },
    fakeStartArgs(beads, steps, worktree = sandbox.worktree(beads)) {
      const prompt = sandbox.prompt({ steps });
      return ['start', '--beads', beads, '--provider', 'fake', '--prompt-file', prompt, '--worktree', worktree];
    },
    async startFake(beads, steps, extra = [], options = {}) {
      const worktree = sandbox.worktree(beads);
      return { ...(await sandbox.dx([...sandbox.fakeStartArgs(beads, steps, worktree), ...extra], options)), worktree };
    },
    async cleanup() {
      killJobProcesses(state);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return sandbox;
}

/** Run as root without the capability to bypass file permissions, so chmod 000 means unreadable. */
export const WITHOUT_DAC_OVERRIDE =
  process.getuid?.() === 0 ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search', '--inh-caps=-all'] : [];

/** As WITHOUT_DAC_OVERRIDE, and without the capability to chmod another user's files either. */
export const WITHOUT_OWNER_OVERRIDE =
  process.getuid?.() === 0
    ? ['setpriv', '--bounding-set=-dac_override,-dac_read_search,-fowner', '--inh-caps=-all']
    : [];

/** Poll until `fn` returns a truthy value; bounded in time, never in a busy loop. */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
  intervalMs = 100,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** Whether the process runs (exists and is not a zombie). */
export { processAlive as processExists } from '../fixtures/proc.mjs';

/** Every process on the host whose command line contains one of `needles`: pid and the matching text. */
export function cmdlinesContaining(needles: string[]): Array<{ pid: number; cmdline: string }> {
  const found: Array<{ pid: number; cmdline: string }> = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    try {
      cmdline = fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (needles.some((n) => cmdline.includes(n))) found.push({ pid: Number(name), cmdline: cmdline.slice(0, 300) });
  }
  return found;
}

/** The lines of a prompt worth looking for in a command line (blank lines carry nothing). */
export function promptLines(prompt: string): string[] {
  return prompt
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
