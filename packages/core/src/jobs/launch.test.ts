import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../policy/load.js';
import type { LaunchRequest, LaunchSpec, Provider } from '../providers/contract.js';
import { ProviderRegistry } from '../providers/registry.js';
import { jobPaths } from '../state/layout.js';
import { startJob, type StartJobOptions } from './launch.js';
import { loadJob } from './store.js';
import { toJobView } from './view.js';
import type { PrespawnedWatcher } from './watcher/prespawn.js';

/**
 * The launch's validation in-process, with dry runs (nothing is spawned): what a start refuses
 * before any agent runs, and what the launch spec may not contain.
 */
// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let dir: string;
let agents: string;
let worktree: string;
let env: NodeJS.ProcessEnv;
let policy: ReturnType<typeof loadPolicy>;
let prompt: string;
beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-launch-')));
  agents = path.join(dir, 'agents');
  worktree = path.join(agents, 'bd-1', 'repo');
  fs.mkdirSync(worktree, { recursive: true });
  execFileSync('git', ['init', '-q', worktree]);
  env = {
    HOME: dir,
    PATH: process.env.PATH,
    DX_RUNNER_STATE_DIR: path.join(dir, 'state'),
    DX_RUNNER_EXTRA_ALLOWED_PREFIXES: agents,
  };
  policy = loadPolicy({ env });
  prompt = path.join(dir, 'task.prompt');
  fs.writeFileSync(prompt, 'Fix the flaky retry test in packages/core please\nand nothing else\n');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function provider(
  id: string,
  spec: (r: LaunchRequest) => Partial<LaunchSpec>,
  extra: Partial<Provider> = {},
): Provider {
  return {
    id,
    displayName: id,
    runtimeModule: 'file:///nowhere.js',
    createParser: () => ({ parse: () => [] }),
    classifyFailure: () => ({ reasonCode: 'x', failureClass: 'crashed' }),
    buildLaunch: (r) => ({
      command: '/bin/true',
      args: [],
      env: {},
      cwd: r.worktree,
      stdinFile: r.promptFile,
      ...spec(r),
    }),
    ...extra,
  };
}

const registry = new ProviderRegistry();
registry.register(
  provider('good', () => ({ args: ['--json'] })),
  'test',
);
registry.register(
  provider('leaky', (r) => ({ args: ['run', r.prompt] })),
  'test',
);
registry.register(
  provider('simulated', () => ({}), { simulator: true }),
  'test',
);

function start(over: Partial<StartJobOptions>) {
  return startJob({
    beads: 'bd-1',
    provider: 'good',
    registry,
    promptFile: prompt,
    worktree,
    policy,
    env,
    dryRun: true,
    ...over,
  });
}

async function refusal(over: Partial<StartJobOptions>): Promise<{ reasonCode: string; exitCode: number }> {
  try {
    await start(over);
  } catch (err) {
    return err as { reasonCode: string; exitCode: number };
  }
  throw new Error('expected the start to be refused');
}

describe('startJob validation (dry runs)', () => {
  it('a dry run validates and shows the command with the prompt as stdin, never its text', async () => {
    const r = await start({});
    expect(r).toMatchObject({ dry_run: true, state: 'validated', provider: 'good', worktree, pid: null });
    expect(r.command).toBe('/bin/true --json < <prompt file>');
    expect(fs.existsSync(path.join(dir, 'state', 'good'))).toBe(false);
  });

  it('refuses a provider that puts the prompt into argv, where every user could read it', async () => {
    expect(await refusal({ provider: 'leaky' })).toMatchObject({ reasonCode: 'prompt_in_argv', exitCode: 1 });
  });

  it('refuses an unknown provider, a bad beads id, a worktree outside the allowed prefixes', async () => {
    expect(await refusal({ provider: 'nope' })).toMatchObject({ reasonCode: 'provider_not_found', exitCode: 20 });
    expect((await refusal({ beads: '../x' })).reasonCode).toBe('invalid_beads_id');
    const outside = fs.mkdtempSync(path.join(dir, 'outside-'));
    execFileSync('git', ['init', '-q', outside]);
    expect((await refusal({ worktree: outside })).exitCode).toBe(22);
  });

  it('a scenario is only for a simulator; a simulator needs no prompt', async () => {
    expect(await refusal({ scenario: 'success' })).toMatchObject({
      reasonCode: 'scenario_needs_simulator',
      exitCode: 1,
    });
    expect((await refusal({ promptFile: undefined, dryRun: false })).reasonCode).toBe('prompt_file_required');
    const r = await start({ provider: 'simulated', scenario: 'success', promptFile: undefined });
    expect(r).toMatchObject({ dry_run: true, provider: 'simulated' });
  });
});

describe('startJob launch', () => {
  it('a watcher gone before it is identified: the start fails and the attempt is on record as launch_incomplete', async () => {
    // a "watcher" that has already exited and been reaped: its pid names no process any more
    const child = spawn('/bin/true', { stdio: ['pipe', 'ignore', 'ignore', 'pipe'] });
    const pid = await new Promise<number>((resolve) => child.once('exit', () => resolve(child.pid!)));
    const gone: PrespawnedWatcher = { child, spawned: Promise.resolve(pid), consumed: false, cancel() {} };
    const err = await refusal({ beads: 'bd-2', dryRun: false, watcher: gone });
    expect(err).toMatchObject({ reasonCode: 'launch_not_acknowledged', exitCode: 1 });
    const view = toJobView(loadJob(jobPaths(path.join(dir, 'state'), 'good', 'bd-2')));
    expect(view).toMatchObject({ state: 'exited_err', reason_code: 'launch_incomplete', watcher_pid: null });
    expect(view.run_instance).toMatch(/-good-/);
  });
});
