/**
 * A machine that sleeps (a laptop suspended overnight, a paused VM) freezes every job with it. On
 * waking, the time it slept is neither a stall nor runtime: the watcher notices its own beat came
 * far too late and records the freeze, so the job is not judged stalled (and restarted, or failed
 * by its wave) for a silence that was the machine's. The freeze is played by stopping the job's
 * watcher and agent group (SIGSTOP), as a suspend does, inside a private pid namespace.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckOutputSchema, HeartbeatSchema, JobReportSchema, MetaSchema, parseKv, StartOutputSchema } from '@dx/core';
import { openPidNamespace, type PidNamespace } from '../helpers/pid-namespace.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
let ns: PidNamespace;
beforeEach(() => {
  sb = createSandbox();
  ns = openPidNamespace(sb);
});
afterEach(async () => {
  await ns.close();
  await sb.cleanup();
});

const record = (beads: string, kind: 'meta' | 'heartbeat' | 'outcome') =>
  parseKv(fs.readFileSync(path.join(sb.state, 'fake', `${beads}.${kind}`), 'utf8'));

// a 6-second stall window, and a beat 2 seconds late counts as a freeze
const env = { DX_RUNNER_STALL_MINUTES: '0.1', DX_RUNNER_FREEZE_GAP_SEC: '2' };
const FROZEN_MS = 9_000;

/** A job (in the namespace) whose agent says one thing and then goes quiet. */
async function startWorking(beads: string, extra: Record<string, string> = {}) {
  const started = await ns.dxJson(
    sb.fakeStartArgs(beads, [{ message: 'working' }, { hang: true }]),
    StartOutputSchema,
    { env: { ...env, ...extra } },
  );
  expect(started.code, started.stderr).toBe(0);
}

describe('a job frozen with its machine', () => {
  it('is not stalled when it wakes; its stall clock starts again from the wake', async () => {
    // bd-limit may run 9 seconds: the freeze must not use them up
    for (const [beads, extra] of [
      ['bd-sleep', {}],
      ['bd-limit', { DX_RUNNER_MAX_RUNTIME_MINUTES: '0.15' }],
    ] as const) {
      await startWorking(beads, extra);
    }
    const groups: number[] = [];
    const watchers: number[] = [];
    for (const beads of ['bd-sleep', 'bd-limit']) {
      await waitFor(() => Number(record(beads, 'heartbeat').events) >= 1, `${beads}: first event`);
      watchers.push(MetaSchema.parse(record(beads, 'meta')).watcher_pid!);
      groups.push(HeartbeatSchema.parse(record(beads, 'heartbeat')).agent_pid!);
    }
    const before = await ns.dxJson(['check', '--beads', 'bd-sleep'], CheckOutputSchema, { env });
    expect(before.json).toMatchObject({ state: 'healthy', reason_code: 'progressing' });

    // the machine sleeps longer than the stall window
    for (const group of groups) await ns.signalGroup(group, 'SIGSTOP');
    for (const watcher of watchers) await ns.signal(watcher, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, FROZEN_MS));
    for (const watcher of watchers) await ns.signal(watcher, 'SIGCONT');
    for (const group of groups) await ns.signalGroup(group, 'SIGCONT');

    await waitFor(() => record('bd-sleep', 'heartbeat').resumed_at !== undefined, 'the watcher records the freeze');
    const heartbeat = HeartbeatSchema.parse(record('bd-sleep', 'heartbeat'));
    expect(heartbeat.frozen_sec).toBeGreaterThanOrEqual(FROZEN_MS / 1000 - 2);
    const woke = await ns.dxJson(['check', '--beads', 'bd-sleep'], CheckOutputSchema, { env });
    expect(woke.json, 'the last event is older than the stall window, but the machine slept').toMatchObject({
      state: 'healthy',
      reason_code: 'progressing',
    });
    expect(fs.readFileSync(path.join(sb.state, 'fake', 'bd-sleep.watcher.log'), 'utf8')).toContain(
      'woke from a freeze',
    );
    await waitFor(() => record('bd-limit', 'heartbeat').resumed_at !== undefined, 'bd-limit records the freeze');
    const limited = await ns.dxJson(['check', '--beads', 'bd-limit'], CheckOutputSchema, { env });
    expect(limited.json, 'its runtime limit does not count the time it was frozen').toMatchObject({
      state: 'healthy',
      outcome_state: null,
    });

    // a silence after the wake is a stall again, a stall window later
    let last = woke.json;
    await waitFor(
      async () => {
        last = (await ns.dxJson(['check', '--beads', 'bd-sleep'], CheckOutputSchema, { env })).json;
        return last.state === 'stalled';
      },
      'a stall after the wake',
      15_000,
      500,
    );
    expect(last).toMatchObject({ state: 'stalled', reason_code: 'no_progress_events' });
    expect((await ns.dx(['stop', '--beads', 'bd-sleep'])).code).toBe(0);
    // and the limit still holds: the watcher ends the job once its running time (not the sleep) is up
    await waitFor(() => fs.existsSync(path.join(sb.state, 'fake', 'bd-limit.outcome')), 'bd-limit timed out', 15_000);
    expect(record('bd-limit', 'outcome')).toMatchObject({ state: 'timeout', reason_code: 'max_runtime_exceeded' });
    // its report says how much of its duration the machine slept
    const report = await ns.dxJson(['report', '--beads', 'bd-limit'], JobReportSchema);
    expect(report.json.frozen_sec).toBeGreaterThanOrEqual(FROZEN_MS / 1000 - 2);
    expect(report.json.duration_sec).toBeGreaterThanOrEqual(report.json.frozen_sec! + 8);
    const text = await ns.dx(['report', '--beads', 'bd-limit']);
    expect(text.stdout).toMatch(/- Duration: \d+s \(\d+s of it frozen: the machine slept\)/);
  });

  it('a watchdog frozen with the jobs lets their watchers record the freeze before it judges', async () => {
    await startWorking('bd-watched');
    await waitFor(() => Number(record('bd-watched', 'heartbeat').events) >= 1, 'first event');
    const watcher = MetaSchema.parse(record('bd-watched', 'meta')).watcher_pid!;
    const agent = HeartbeatSchema.parse(record('bd-watched', 'heartbeat')).agent_pid!;
    let watchdog: number | undefined;
    const passes = ns.dx(['watchdog', '--interval', '1', '--max-passes', '4', '--max-retries', '1'], {
      env,
      onSpawn: (pid) => (watchdog = pid),
    });
    await waitFor(() => watchdog, 'the watchdog runs');
    await new Promise((r) => setTimeout(r, 1500));

    // the machine sleeps with the watchdog, the watcher and the agent in it
    await ns.signalGroup(agent, 'SIGSTOP');
    await ns.signal(watcher, 'SIGSTOP');
    await ns.signal(watchdog!, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, FROZEN_MS));
    // it wakes: the watchdog first, the watcher's beat a second after
    await ns.signal(watchdog!, 'SIGCONT');
    await new Promise((r) => setTimeout(r, 1000));
    await ns.signal(watcher, 'SIGCONT');
    await ns.signalGroup(agent, 'SIGCONT');

    const out = await passes;
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toMatch(/pass \d+s late \(a suspend, a paused VM\): the watchers record a freeze first/);
    expect(out.stdout, 'the job was judged after its watcher recorded the freeze').not.toMatch(/-> restarted/);
    expect(MetaSchema.parse(record('bd-watched', 'meta')).retries).toBe(0);
    expect((await ns.dx(['stop', '--beads', 'bd-watched'])).code).toBe(0);
  });
});
