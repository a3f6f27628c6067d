import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckOutputSchema,
  FinalizeOutputSchema,
  jobPaths,
  loadJob,
  OutcomeSchema,
  parseKv,
  PruneOutputSchema,
  StartOutputSchema,
  StopOutputSchema,
} from '@dx/core';
import { openPidNamespace, type PidNamespace } from '../helpers/pid-namespace.js';
import {
  cmdlinesContaining,
  createSandbox,
  hangingCleanFilter,
  processExists,
  waitFor,
  type Sandbox,
} from '../helpers/sandbox.js';
import { REPO_ROOT } from '../helpers/paths.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

function outcome(beads: string) {
  const file = path.join(sb.state, 'fake', `${beads}.outcome`);
  return fs.existsSync(file) ? OutcomeSchema.parse(parseKv(fs.readFileSync(file, 'utf8'))) : undefined;
}

async function startHanging(
  beads: string,
  extraSteps: unknown[] = [],
  env: Record<string, string> = {},
  runner: Pick<Sandbox, 'dxJson'> = sb,
  childOptions: Record<string, unknown> = {},
) {
  const wt = sb.worktree(beads);
  const childPidFile = path.join(sb.dir, `${beads}.child.pid`);
  const prompt = sb.prompt({
    steps: [{ message: 'working' }, { spawn_child: childPidFile, ...childOptions }, ...extraSteps, { hang: true }],
  });
  const start = await runner.dxJson(
    ['start', '--beads', beads, '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt],
    StartOutputSchema,
    { env },
  );
  expect(start.code).toBe(0);
  const childPid = Number(
    await waitFor(() => fs.existsSync(childPidFile) && fs.readFileSync(childPidFile, 'utf8'), 'child pid file'),
  );
  return { agentPid: start.json.pid!, watcherPid: start.json.watcher_pid!, childPid, worktree: wt };
}

/**
 * A job whose watcher is gone without an outcome, its heartbeat rewritten by `edit`: a job that ran
 * and ended (in the namespace), its outcome then removed.
 */
async function forgeGhost(ns: PidNamespace, beads: string, edit: (heartbeat: string) => string) {
  const paths = jobPaths(sb.state, 'fake', beads);
  const start = await ns.dx(sb.fakeStartArgs(beads, [{ exit: 0 }]));
  expect(start.code, start.stderr).toBe(0);
  await waitFor(() => fs.existsSync(paths.outcome) && !fs.existsSync(paths.pid), `${beads} outcome and clean-up`);
  fs.rmSync(paths.outcome);
  fs.writeFileSync(paths.heartbeat, edit(fs.readFileSync(paths.heartbeat, 'utf8')));
  return paths;
}

describe('stop, finalize and prune end only our own processes', () => {
  it('stop ends the whole process group, children included, and records manual_stop', async () => {
    const { agentPid, watcherPid, childPid } = await startHanging('bd-stop');
    expect(processExists(agentPid)).toBe(true);
    expect(processExists(childPid)).toBe(true);
    const stop = await sb.dxJson(['stop', '--beads', 'bd-stop'], StopOutputSchema);
    expect(stop.code).toBe(0);
    expect(stop.json).toMatchObject({
      stopped: true,
      reason_code: 'manual_stop',
      exit_code: 137,
      outcome_state: 'killed',
      written_by: 'watcher',
    });
    await waitFor(
      () => !processExists(agentPid) && !processExists(childPid) && !processExists(watcherPid),
      'all processes gone',
    );
    const check = await sb.dxJson(['check', '--beads', 'bd-stop'], CheckOutputSchema);
    expect(check.json).toMatchObject({
      state: 'exited_err',
      reason_code: 'manual_stop',
      next_action: 'job_stopped_by_operator_review_logs',
    });
    // stopping again is refused: there is nothing left to stop
    const again = await sb.dx(['stop', '--beads', 'bd-stop']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('is not running');
  });

  it('a running job whose meta is unreadable is still running: no second start, no other job in its worktree, stop ends it', async () => {
    const { agentPid, watcherPid, childPid, worktree: wt } = await startHanging('bd-unread');
    const meta = jobPaths(sb.state, 'fake', 'bd-unread').meta;
    fs.writeFileSync(meta, '{garbled\n');
    const again = await sb.dx(sb.fakeStartArgs('bd-unread', [{ exit: 0 }], wt));
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      new RegExp(
        `already running \\(provider fake, watcher pid ${watcherPid}, agent pid ${agentPid}; its record is unreadable`,
      ),
    );
    expect(again.stderr).toContain('reason_code=job_already_running');
    const neighbour = await sb.dx(sb.fakeStartArgs('bd-neighbour', [{ exit: 0 }], wt));
    expect(neighbour.code).toBe(1);
    expect(neighbour.stderr).toMatch(
      /in use by job bd-unread \(provider fake, its record unreadable, still running: run dx-runner stop --beads bd-unread\)/,
    );
    expect([agentPid, childPid, watcherPid].map(processExists)).toEqual([true, true, true]);
    const stop = await sb.dxJson(['stop', '--beads', 'bd-unread'], StopOutputSchema);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.json).toMatchObject({ stopped: true, reason_code: 'manual_stop', written_by: 'watcher' });
    await waitFor(
      () => !processExists(agentPid) && !processExists(childPid) && !processExists(watcherPid),
      'all processes gone',
    );
    // the unreadable file is the operator's to look at; the worktree is free again
    expect(fs.readFileSync(meta, 'utf8')).toBe('{garbled\n');
    const after = await sb.dx(sb.fakeStartArgs('bd-neighbour', [{ exit: 0 }], wt));
    expect(after.code, after.stderr).toBe(0);
  });

  it("ends the agent's children that left its process group (setsid, a daemon): at its exit and at a stop", async () => {
    // dx-runner signals pids it finds by their mark: the jobs and every command run in a private pid namespace
    const ns = openPidNamespace(sb);
    try {
      // an agent that starts a daemon and exits: the daemon (which ignores SIGTERM) does not outlive the job
      const daemonPidFile = path.join(sb.dir, 'daemon.pid');
      const steps = [
        { spawn_child: daemonPidFile, child_detached: true, child_ignores_sigterm: true },
        { write: 'a.txt' },
        { exit: 0 },
      ];
      const started = await ns.dx(sb.fakeStartArgs('bd-daemon', steps), { env: { DX_RUNNER_KILL_GRACE_SEC: '1' } });
      expect(started.code, started.stderr).toBe(0);
      const daemonPid = Number(
        await waitFor(() => fs.existsSync(daemonPidFile) && fs.readFileSync(daemonPidFile, 'utf8'), 'daemon pid'),
      );
      await waitFor(() => outcome('bd-daemon'), 'the outcome');
      expect(await ns.exists(daemonPid)).toBe(false);
      expect(outcome('bd-daemon')).toMatchObject({ state: 'success' });
      // a stopped agent's detached child goes with it
      const { childPid } = await startHanging('bd-detached-stop', [], {}, ns, { child_detached: true });
      expect(await ns.exists(childPid)).toBe(true);
      expect((await ns.dx(['stop', '--beads', 'bd-detached-stop'])).code).toBe(0);
      await waitFor(async () => !(await ns.exists(childPid)), 'the detached child gone');
    } finally {
      await ns.close();
    }
  });

  it('a job an agent starts is its own: it outlives the agent that started it', async () => {
    // the parent's end signals what carries its mark: the jobs and every command run in a private pid namespace
    const ns = openPidNamespace(sb);
    try {
      const parent = await startHanging('bd-parent', [], {}, ns);
      const meta = loadJob(jobPaths(sb.state, 'fake', 'bd-parent')).meta!;
      // started from inside the parent's agent: with its environment, the run's mark included
      const nested = await ns.dxJson(sb.fakeStartArgs('bd-nested', [{ hang: true }]), StartOutputSchema, {
        env: { DX_RUNNER_JOB: `bd-parent/${meta.run_instance}` },
      });
      expect(nested.code, nested.stderr).toBe(0);
      expect((await ns.dx(['stop', '--beads', 'bd-parent'])).code).toBe(0);
      await waitFor(async () => !(await ns.exists(parent.watcherPid)), 'the parent job ended');
      expect(await ns.exists(nested.json.watcher_pid!)).toBe(true);
      expect(await ns.exists(nested.json.pid!)).toBe(true);
      expect((await ns.dxJson(['check', '--beads', 'bd-nested'], CheckOutputSchema)).json.state).toBe('healthy');
    } finally {
      await ns.close();
    }
  });

  it('SIGKILLs an agent that ignores SIGTERM after the kill grace', async () => {
    const { agentPid, childPid } = await startHanging('bd-stubborn', [{ ignore_sigterm: true }], {
      DX_RUNNER_KILL_GRACE_SEC: '1',
    });
    const t0 = Date.now();
    const stop = await sb.dxJson(['stop', '--beads', 'bd-stubborn'], StopOutputSchema);
    expect(stop.json.stopped).toBe(true);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
    await waitFor(() => !processExists(agentPid) && !processExists(childPid), 'stubborn agent gone');
    expect(fs.readFileSync(path.join(sb.state, 'fake', 'bd-stubborn.log'), 'utf8')).toContain('ignoring SIGTERM');
  });

  it('finalize ends a running job with the given reason and exit code, and keeps an existing outcome', async () => {
    const { agentPid } = await startHanging('bd-fin');
    const fin = await sb.dxJson(
      ['finalize', '--beads', 'bd-fin', '--reason', 'stalled', '--exit-code', '7'],
      FinalizeOutputSchema,
    );
    expect(fin.json).toMatchObject({ finalized: true, reason_code: 'stalled', exit_code: 7, outcome_state: 'failed' });
    await waitFor(() => !processExists(agentPid), 'agent gone');
    expect(fs.readFileSync(path.join(sb.state, 'fake', 'bd-fin.rc'), 'utf8').trim()).toBe('7');
    const check = await sb.dx(['check', '--beads', 'bd-fin']);
    expect(check.code).toBe(3);
    const again = await sb.dxJson(['finalize', '--beads', 'bd-fin', '--reason', 'other'], FinalizeOutputSchema);
    expect(again.json).toMatchObject({ finalized: false, reason_code: 'stalled', exit_code: 7 });
  });

  it('a watcher killed with SIGKILL leaves a classifiable job: check reports it, prune ends the orphan', async () => {
    // it signals a pid start reported: the job and every command of the test run in a private pid namespace
    const ns = openPidNamespace(sb);
    try {
      await ghostScenario(ns);
    } finally {
      await ns.close();
    }
  });

  async function ghostScenario(ns: PidNamespace): Promise<void> {
    // the agent also left a daemon outside its group, which the lost watcher can no longer end
    const daemonPidFile = path.join(sb.dir, 'bd-ghost.daemon.pid');
    const { agentPid, watcherPid, childPid } = await startHanging(
      'bd-ghost',
      [{ spawn_child: daemonPidFile, child_detached: true }],
      {},
      ns,
    );
    const daemonPid = Number(
      await waitFor(() => fs.existsSync(daemonPidFile) && fs.readFileSync(daemonPidFile, 'utf8'), 'daemon pid file'),
    );
    await ns.signal(watcherPid, 'SIGKILL');
    await waitFor(async () => !(await ns.exists(watcherPid)), 'watcher gone');
    const t0 = Date.now();
    const check = await ns.dxJson(['check', '--beads', 'bd-ghost'], CheckOutputSchema);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(check.json).toMatchObject({
      state: 'exited_err',
      reason_code: 'watcher_lost',
      next_action: 'run_dx_runner_prune_then_restart',
    });
    expect(check.code).toBe(3);
    // a new start of the same beads id is refused while the orphaned agent still runs
    const ghostWorktree = path.join(sb.agents, 'bd-ghost', 'repo');
    const restartTry = await ns.dx(sb.fakeStartArgs('bd-ghost', [], ghostWorktree));
    expect(restartTry.code).toBe(1);
    expect(restartTry.stderr).toContain('prune');
    // and so is another job in its worktree: the orphaned agent is still at work there
    const neighbour = await ns.dx(sb.fakeStartArgs('bd-neighbour', [], ghostWorktree));
    expect(neighbour.code).toBe(1);
    expect(neighbour.stderr).toMatch(
      /in use by job bd-ghost .*its watcher lost, its agent still running: run dx-runner prune.*reason_code=worktree_in_use/,
    );
    const prune = await ns.dxJson(['prune'], PruneOutputSchema);
    expect(prune.json.actions).toEqual([
      expect.objectContaining({
        beads: 'bd-ghost',
        action: 'finalized_ghost',
        detail: expect.stringContaining('watcher_lost'),
      }),
    ]);
    await waitFor(async () => !(await ns.exists(agentPid)) && !(await ns.exists(childPid)), 'orphaned group ended');
    await waitFor(async () => !(await ns.exists(daemonPid)), 'the daemon that left the group ended');
    expect(outcome('bd-ghost')).toMatchObject({
      state: 'failed',
      reason_code: 'watcher_lost',
      finalized_by: 'finalize',
    });
    const second = await ns.dxJson(['prune'], PruneOutputSchema);
    expect(second.json.pruned).toBe(0);
  }

  it('an agent killed from outside (the OOM killer’s SIGKILL) is named as such, not as a bare crash', async () => {
    // it signals a pid start reported: the job and every command of the test run in a private pid namespace
    const ns = openPidNamespace(sb);
    try {
      const { agentPid } = await startHanging('bd-oom', [], {}, ns);
      await ns.signal(agentPid, 'SIGKILL');
      await waitFor(() => outcome('bd-oom'), 'the outcome');
      expect(outcome('bd-oom')).toMatchObject({
        state: 'failed',
        exit_code: 137,
        reason_code: 'agent_killed_by_signal',
        failure_class: 'crashed',
        summary: expect.stringContaining('ended by SIGKILL, which dx-runner did not send'),
      });
      const check = await ns.dxJson(['check', '--beads', 'bd-oom'], CheckOutputSchema);
      expect(check.json).toMatchObject({ state: 'exited_err', next_action: 'find_what_ended_the_agent_then_restart' });
    } finally {
      await ns.close();
    }
  });

  it('a watcher lost after its agent ended: the outcome keeps the agent’s own exit code', async () => {
    const ns = openPidNamespace(sb);
    try {
      const wt = sb.worktree('bd-lost-exit');
      const paths = jobPaths(sb.state, 'fake', 'bd-lost-exit');
      // the agent exits 7 and leaves a child that shrugs off SIGTERM: ending it keeps the watcher
      // busy for the kill grace (3 s) after the agent's end, before it can write the outcome
      const prompt = sb.prompt({
        steps: [
          { message: 'working' },
          { spawn_child: path.join(sb.dir, 'lost-exit.child.pid'), child_ignores_sigterm: true },
          // time for the child to set up its SIGTERM handler
          { sleep: 500 },
          { exit: 7 },
        ],
      });
      const start = await ns.dxJson(
        ['start', '--beads', 'bd-lost-exit', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt],
        StartOutputSchema,
        { env: { DX_RUNNER_KILL_GRACE_SEC: '3' } },
      );
      expect(start.code, start.stderr).toBe(0);
      await waitFor(
        () => fs.existsSync(paths.heartbeat) && /^agent_exit_code=7$/m.test(fs.readFileSync(paths.heartbeat, 'utf8')),
        'the agent’s exit on record',
      );
      await ns.signal(start.json.watcher_pid!, 'SIGKILL');
      await waitFor(async () => !(await ns.exists(start.json.watcher_pid!)), 'watcher gone');
      expect(fs.existsSync(paths.outcome)).toBe(false);
      const prune = await ns.dxJson(['prune', '--beads', 'bd-lost-exit'], PruneOutputSchema);
      expect(prune.json.actions[0]).toMatchObject({ action: 'finalized_ghost' });
      // nobody judged the run (failed, watcher_lost), but how the agent ended is not lost
      expect(outcome('bd-lost-exit')).toMatchObject({ state: 'failed', reason_code: 'watcher_lost', exit_code: 7 });
      expect(outcome('bd-lost-exit')?.summary).toMatch(/the agent had ended \(exit code 7\) at \d{4}-/);
    } finally {
      await ns.close();
    }
  });

  it('prune never signals a process whose pid was recycled: identity is pid + start time', async () => {
    // in a private pid namespace: the forged record names a pid there, so a broken prune could only
    // ever reach the namespace's own processes
    const ns = openPidNamespace(sb);
    try {
      // the process the recycled pid now belongs to: another job's live agent
      const { agentPid: livePid } = await startHanging('bd-alive', [], {}, ns);
      // forge a ghost: no outcome, dead watcher, and its agent's pid now someone else's (its start
      // time stays the one recorded for the agent that ran)
      const paths = await forgeGhost(ns, 'bd-recycled', (hb) => hb.replace(/^agent_pid=.*$/m, `agent_pid=${livePid}`));
      expect(loadJob(paths).agentAlive).toBe(false);
      const prune = await ns.dxJson(['prune', '--beads', 'bd-recycled'], PruneOutputSchema);
      expect(prune.json.actions[0]).toMatchObject({ action: 'finalized_ghost' });
      expect(await ns.exists(livePid)).toBe(true);
      expect((await ns.dxJson(['check', '--beads', 'bd-alive'], CheckOutputSchema)).json.state).toBe('healthy');
    } finally {
      await ns.close();
    }
  });

  it('a record from before a reboot names no process, even when a live one has its pid and start time', async () => {
    // start times count from boot, so after a reboot a recorded pid + start time can match a new
    // process by chance; the record's boot tells them apart. In a private pid namespace.
    const ns = openPidNamespace(sb);
    try {
      const { agentPid: livePid } = await startHanging('bd-now', [], {}, ns);
      const live = parseKv(fs.readFileSync(jobPaths(sb.state, 'fake', 'bd-now').heartbeat, 'utf8'));
      expect(live.agent_pid).toBe(String(livePid));
      expect(live.boot_id).toMatch(/^[0-9a-f-]{36}$/);
      // forge the job the reboot cut short: no outcome, and its agent's pid and start time are, by
      // chance, those of a process running now
      const earlier = live.boot_id.replace(/^./, (c) => (c === '0' ? '1' : '0'));
      await forgeGhost(ns, 'bd-before-reboot', (hb) =>
        hb
          .replace(/^agent_pid=.*$/m, `agent_pid=${livePid}`)
          .replace(/^agent_start_ticks=.*$/m, `agent_start_ticks=${live.agent_start_ticks}`)
          .replace(/^boot_id=.*$/m, `boot_id=${earlier}`),
      );
      const prune = await ns.dxJson(['prune', '--beads', 'bd-before-reboot'], PruneOutputSchema);
      expect(prune.json.actions[0]).toMatchObject({ action: 'finalized_ghost' });
      expect(prune.json.actions[0].detail).not.toContain('ended orphaned agent group');
      expect(await ns.exists(livePid)).toBe(true);
      expect((await ns.dxJson(['check', '--beads', 'bd-now'], CheckOutputSchema)).json.state).toBe('healthy');
    } finally {
      await ns.close();
    }
  });

  it('prune removes an invalid pid file and reports corrupt state without deleting it', async () => {
    const wt = sb.worktree('bd-junk');
    await sb.dx(sb.fakeStartArgs('bd-junk', [{ exit: 0 }], wt));
    const paths = jobPaths(sb.state, 'fake', 'bd-junk');
    // the watcher removes its pid file just after it publishes the outcome: wait for both, or it
    // could remove the junk written here before prune sees it
    await waitFor(() => fs.existsSync(paths.outcome) && !fs.existsSync(paths.pid), 'outcome and clean-up');
    fs.writeFileSync(paths.pid, 'not-a-pid\n');
    const prune = await sb.dxJson(['prune', '--beads', 'bd-junk'], PruneOutputSchema);
    expect(prune.json.actions).toContainEqual(expect.objectContaining({ action: 'removed_invalid_pid' }));
    expect(fs.existsSync(paths.pid)).toBe(false);
    fs.writeFileSync(paths.meta, fs.readFileSync(paths.meta, 'utf8').slice(0, 40));
    const again = await sb.dxJson(['prune'], PruneOutputSchema);
    expect(again.json.actions).toEqual([expect.objectContaining({ action: 'left_corrupt_state' })]);
    expect(fs.existsSync(paths.meta)).toBe(true);
  });
});

describe("dx-runner's own git calls", () => {
  it('a process that exits while its git waits on a hanging clean filter takes git and the filter with it', async () => {
    const repo = sb.worktree('bd-git-exit');
    hangingCleanFilter(repo, 41.5);
    fs.writeFileSync(path.join(repo, 'notes.txt'), 'HANG\n');
    // a process (as the watcher, which exits once its outcome is written) whose git status is in
    // flight when it exits; it exits when told to, on its stdin
    const gitModule = path.join(REPO_ROOT, 'packages', 'core', 'dist', 'process', 'git.js');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { git } = await import(${JSON.stringify(gitModule)}); void git(${JSON.stringify(repo)}, ['status', '--porcelain']); process.stdin.once('data', () => process.exit(0));`,
      ],
      { env: sb.env, stdio: ['pipe', 'ignore', 'inherit'] },
    );
    const ended = new Promise((resolve) => child.on('close', resolve));
    await waitFor(() => cmdlinesContaining(['sleep 41.5']).length > 0, 'the filter runs', 15_000);
    child.stdin.write('exit\n');
    await ended;
    // git and its filter are ended with the process, not left to run their course
    await waitFor(() => cmdlinesContaining(['sleep 41.5']).length === 0, 'the filter ended with it', 10_000);
  });
});
