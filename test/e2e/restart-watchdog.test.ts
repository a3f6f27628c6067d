import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckOutputSchema,
  MetaSchema,
  parseKv,
  RestartOutputSchema,
  WaitOutputSchema,
  WatchdogOutputSchema,
  WatchdogPassSchema,
} from '@dx/core';
import { openPidNamespace } from '../helpers/pid-namespace.js';
import {
  cmdlinesContaining,
  createSandbox,
  processExists,
  waitFor,
  withJson,
  type Sandbox,
} from '../helpers/sandbox.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** Whether the process has an inotify instance open (what `wait` watches the job's files with). */
function watchesFiles(pid: number): boolean {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === 'anon_inode:inotify';
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

const meta = (beads: string) =>
  MetaSchema.parse(parseKv(fs.readFileSync(path.join(sb.state, 'fake', `${beads}.meta`), 'utf8')));

describe('restart', () => {
  it('stops the running instance, rotates the log, keeps metadata and counts retries', async () => {
    const wt = sb.worktree('bd-rs');
    const prompt = sb.prompt({ steps: [{ message: 'first try' }, { hang: true }] });
    const first = await sb.dx([
      'start',
      '--beads',
      'bd-rs',
      '--provider',
      'fake',
      '--prompt-file',
      prompt,
      '--worktree',
      wt,
      '--model',
      'fake-model-2',
      '--json',
    ]);
    const firstPid = JSON.parse(first.stdout).pid as number;
    await waitFor(
      () => fs.readFileSync(path.join(sb.state, 'fake', 'bd-rs.log'), 'utf8').includes('first try'),
      'first log line',
    );
    const before = meta('bd-rs');
    // the user's prompt file may be gone by now (nightly deletes it): restart uses the stored copy
    fs.rmSync(prompt);
    const restart = await sb.dxJson(['restart', '--beads', 'bd-rs'], RestartOutputSchema);
    expect(restart.code).toBe(0);
    expect(restart.json).toMatchObject({
      retries: 1,
      stopped_previous: true,
      previous_run_instance: before.run_instance,
      selected_model: 'fake-model-2',
      worktree: wt,
    });
    await waitFor(() => !processExists(firstPid), 'first instance gone');
    const after = meta('bd-rs');
    expect(after.retries).toBe(1);
    expect(after.run_instance).not.toBe(before.run_instance);
    expect(after.first_started_at).toBe(before.started_at);
    expect(after.model).toBe('fake-model-2');
    const dir = path.join(sb.state, 'fake');
    expect(fs.readFileSync(path.join(dir, 'bd-rs.log.1'), 'utf8')).toContain('first try');
    expect(fs.readFileSync(path.join(dir, 'bd-rs.outcome.1'), 'utf8')).toContain('reason_code=restarted');
    const check = await sb.dxJson(['check', '--beads', 'bd-rs'], CheckOutputSchema);
    expect(check.json.state).toMatch(/launching|healthy/);
    expect(check.json.retries).toBe(1);
  });

  it('a wait follows the job across a restart: the replaced instance is no end of it', async () => {
    const wt = sb.worktree('bd-rw');
    const start = await sb.dx(sb.fakeStartArgs('bd-rw', [{ message: 'at work' }, { hang: true }], wt));
    expect(start.code, start.stderr).toBe(0);
    const log = path.join(sb.state, 'fake', 'bd-rw.log');
    await waitFor(
      () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('at work'),
      'first instance at work',
    );
    const waiting = sb.dx(['wait', 'bd-rw', '--timeout', '60', '--json']);
    // the restart comes once the wait watches the job (its inotify instance is open)
    await waitFor(
      () => cmdlinesContaining(['wait bd-rw --timeout 60']).some(({ pid }) => watchesFiles(pid)),
      'the wait',
    );
    const restart = await sb.dxJson(['restart', 'bd-rw'], RestartOutputSchema);
    expect(restart.code, restart.stderr).toBe(0);
    // the wait is still waiting: it ends with the new instance, here stopped
    await waitFor(
      () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('at work'),
      'second instance at work',
    );
    expect(await sb.dx(['stop', 'bd-rw'])).toMatchObject({ code: 0 });
    const waited = withJson(await waiting, WaitOutputSchema);
    expect(waited.code).toBe(3);
    expect(waited.json).toMatchObject({
      run_instance: meta('bd-rw').run_instance,
      retries: 1,
      reason_code: 'manual_stop',
      timed_out: false,
    });
  });

  it('restarts a finished job too, and refuses an unknown beads id', async () => {
    const wt = sb.worktree('bd-rs2');
    await sb.dx(sb.fakeStartArgs('bd-rs2', [{ exit: 4 }], wt));
    await waitFor(async () => (await sb.dx(['check', '--beads', 'bd-rs2'])).code === 3, 'exited_err');
    const restart = await sb.dxJson(['restart', '--beads', 'bd-rs2'], RestartOutputSchema);
    expect(restart.json).toMatchObject({ retries: 1, stopped_previous: false });
    const unknown = await sb.dx(['restart', '--beads', 'bd-nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no job recorded for beads bd-nope');
  });
});

describe('watchdog', () => {
  it('restarts a stalled job until max retries, then marks it blocked (check exits 3)', async () => {
    const wt = sb.worktree('bd-wd');
    const prompt = sb.prompt({ steps: [{ message: 'thinking' }, { hang: true }] });
    await sb.dx(['start', '--beads', 'bd-wd', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt]);
    await waitFor(
      async () =>
        (await sb.dxJson(['check', '--beads', 'bd-wd', '--stall-minutes', '0.01'], CheckOutputSchema)).json.state ===
        'stalled',
      'stalled',
    );

    const pass1 = await sb.dxJson(
      ['watchdog', '--once', '--max-retries', '1', '--stall-minutes', '0.01'],
      WatchdogOutputSchema,
    );
    expect(pass1.json.passes[0].actions).toEqual([
      expect.objectContaining({ beads: 'bd-wd', state: 'stalled', action: 'restarted', retries: 1 }),
    ]);
    expect(meta('bd-wd').retries).toBe(1);

    await waitFor(
      async () =>
        (await sb.dxJson(['check', '--beads', 'bd-wd', '--stall-minutes', '0.01'], CheckOutputSchema)).json.state ===
        'stalled',
      'stalled again',
    );
    const pass2 = await sb.dxJson(
      ['watchdog', '--once', '--max-retries', '1', '--stall-minutes', '0.01'],
      WatchdogOutputSchema,
    );
    expect(pass2.json.passes[0].actions).toEqual([expect.objectContaining({ beads: 'bd-wd', action: 'blocked' })]);

    const check = await sb.dxJson(['check', '--beads', 'bd-wd'], CheckOutputSchema);
    expect(check.code).toBe(3);
    expect(check.json).toMatchObject({
      state: 'blocked',
      reason_code: 'max_retries_exhausted',
      next_action: 'manual_intervention_required',
      pid: null,
    });
    const pass3 = await sb.dxJson(['watchdog', '--once', '--max-retries', '1'], WatchdogOutputSchema);
    expect(pass3.json.passes[0].actions.filter((a) => a.action !== 'none')).toEqual([]);
  });

  it('never re-runs a finished job: a finished no_op is reported by check and left alone', async () => {
    const wt = sb.worktree('bd-wd-noop');
    await sb.dx(sb.fakeStartArgs('bd-wd-noop', [{ message: 'meh' }, { exit: 0 }], wt));
    await waitFor(async () => (await sb.dx(['check', '--beads', 'bd-wd-noop'])).code === 23, 'no_op');
    const log = fs.readFileSync(path.join(sb.state, 'fake', 'bd-wd-noop.log'), 'utf8');
    for (let n = 0; n < 2; n++) {
      const pass = await sb.dxJson(['watchdog', '--once'], WatchdogOutputSchema);
      expect(pass.json.passes[0].actions).toEqual([]);
    }
    expect(meta('bd-wd-noop').retries).toBe(0);
    expect(fs.existsSync(path.join(sb.state, 'fake', 'bd-wd-noop.log.1'))).toBe(false);
    expect(fs.readFileSync(path.join(sb.state, 'fake', 'bd-wd-noop.log'), 'utf8')).toBe(log);
  });

  it('restarts a live job that makes no progress, then blocks it; a job with an owner is left to its owner', async () => {
    const env = { DX_RUNNER_STARTUP_GRACE_SEC: '0.5' };
    const silent = () => sb.prompt({ silent: true, steps: [{ hang: true }] });
    await sb.dx(
      [
        'start',
        '--beads',
        'bd-wd-live',
        '--provider',
        'fake',
        '--prompt-file',
        silent(),
        '--worktree',
        sb.worktree('bd-wd-live'),
      ],
      { env },
    );
    await sb.dx(
      [
        'start',
        '--beads',
        'bd-wd-owned',
        '--provider',
        'fake',
        '--prompt-file',
        silent(),
        '--worktree',
        sb.worktree('bd-wd-owned'),
        '--owner',
        'dx-batch:wave-x',
      ],
      { env },
    );
    const noOp = async (beads: string) =>
      (await sb.dxJson(['check', '--beads', beads], CheckOutputSchema)).json.state === 'no_op';
    await waitFor(async () => (await noOp('bd-wd-live')) && (await noOp('bd-wd-owned')), 'both live jobs no_op');
    const pass1 = await sb.dxJson(['watchdog', '--once', '--max-retries', '1'], WatchdogOutputSchema, { env });
    expect(pass1.json.passes[0].actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ beads: 'bd-wd-live', state: 'no_op', action: 'restarted', retries: 1 }),
        expect.objectContaining({ beads: 'bd-wd-owned', state: 'no_op', action: 'left_to_owner' }),
      ]),
    );
    expect(meta('bd-wd-owned').retries).toBe(0);
    await waitFor(
      async () =>
        (await sb.dxJson(['check', '--beads', 'bd-wd-live'], CheckOutputSchema)).json.retries === 1 &&
        (await noOp('bd-wd-live')),
      'second no_op',
    );
    const pass2 = await sb.dxJson(['watchdog', '--once', '--max-retries', '1'], WatchdogOutputSchema, { env });
    expect(pass2.json.passes[0].actions).toContainEqual(
      expect.objectContaining({ beads: 'bd-wd-live', action: 'blocked' }),
    );
    expect((await sb.dx(['check', '--beads', 'bd-wd-live'])).code).toBe(3);
  });

  it('force-finalizes a job past its runtime limit whose watcher stopped enforcing it (frozen watcher)', async () => {
    // it signals pids start reported: every command of the test runs in a private pid namespace
    const ns = openPidNamespace(sb);
    try {
      const wt = sb.worktree('bd-frozen');
      const start = await ns.dx(
        [...sb.fakeStartArgs('bd-frozen', [{ message: 'working' }, { hang: true }], wt), '--json'],
        { env: { DX_RUNNER_MAX_RUNTIME_MINUTES: '0.05' } },
      );
      const { pid, watcher_pid: watcherPid } = JSON.parse(start.stdout) as { pid: number; watcher_pid: number };
      await ns.signal(watcherPid, 'SIGSTOP');
      await waitFor(
        async () =>
          (await ns.dxJson(['check', '--beads', 'bd-frozen'], CheckOutputSchema)).json.reason_code ===
          'max_runtime_exceeded',
        'past the limit',
      );
      const pass = await ns.dxJson(['watchdog', '--once'], WatchdogOutputSchema);
      expect(pass.json.passes[0].actions).toEqual([
        expect.objectContaining({ beads: 'bd-frozen', action: 'finalized_timeout' }),
      ]);
      await waitFor(
        async () => !(await ns.exists(pid)) && !(await ns.exists(watcherPid)),
        'agent and frozen watcher gone',
      );
      const check = await ns.dxJson(['check', '--beads', 'bd-frozen'], CheckOutputSchema);
      expect(check.json).toMatchObject({
        state: 'exited_err',
        reason_code: 'max_runtime_exceeded',
        exit_code: 124,
        outcome_state: 'timeout',
      });
    } finally {
      // a frozen watcher left behind ends with the namespace
      await ns.close();
    }
  });

  it('streams one JSON line per pass and stops after --max-passes', async () => {
    const r = await sb.dx(['watchdog', '--interval', '0.2', '--max-passes', '3', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    for (const l of lines) WatchdogPassSchema.parse(JSON.parse(l));
  });
});
