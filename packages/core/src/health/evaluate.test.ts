import { describe, expect, it } from 'vitest';
import type { HeartbeatRecord, MetaRecord, OutcomeRecord } from '../jobs/records.js';
import type { JobSnapshot } from '../jobs/store.js';
import { jobPaths } from '../state/layout.js';
import { evaluateHealth } from './evaluate.js';
import { exitCodeForState } from './states.js';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const ago = (sec: number) => new Date(NOW - sec * 1000).toISOString();

const meta = (over: Partial<MetaRecord> = {}): MetaRecord => ({
  beads: 'bd-1',
  provider: 'p',
  run_instance: 'r1',
  run_id: '20261124115000',
  started_at: ago(600),
  retries: 0,
  host: 'h',
  cwd: '/c',
  worktree: '/w',
  prompt_copy: '/s/p',
  runtime_module: 'file:///x.js',
  watcher_pid: 10,
  watcher_start_ticks: 1,
  max_runtime_minutes: 120,
  no_mutation_timeout_minutes: 30,
  stall_minutes: 20,
  startup_grace_sec: 300,
  ...over,
});

const hb = (over: Partial<HeartbeatRecord> = {}): HeartbeatRecord => ({
  run_instance: 'r1',
  watcher_pid: 10,
  watcher_start_ticks: 1,
  agent_pid: 20,
  agent_start_ticks: 1,
  launched_at: ago(600),
  updated_at: ago(1),
  events: 5,
  tool_calls: 1,
  messages: 2,
  provider_retries: 0,
  writes_refused: 0,
  mutations: 1,
  last_event_at: ago(30),
  ...over,
});

function job(parts: Partial<JobSnapshot>): JobSnapshot {
  return {
    paths: jobPaths('/s', 'p', 'bd-1'),
    watcherAlive: true,
    agentAlive: true,
    otherProviders: [],
    meta: meta(),
    heartbeat: hb(),
    ...parts,
  };
}

const outcome = (over: Partial<OutcomeRecord>): OutcomeRecord => ({
  beads: 'bd-1',
  provider: 'p',
  run_id: 'x',
  exit_code: 0,
  state: 'success',
  reason_code: 'process_exit',
  completed_at: ago(0),
  duration_sec: 1,
  retries: 0,
  selected_model: 'm',
  fallback_reason: 'none',
  run_instance: 'r1',
  host: 'h',
  cwd: '/c',
  worktree: '/w',
  provider_switch_from: [],
  ...over,
});

const at = (j: JobSnapshot, stallMinutes?: number) => evaluateHealth(j, { now: NOW, stallMinutes });

describe('health states', () => {
  it('maps outcomes: success → exited_ok, no_op → no_op, failures → exited_err, blocked → blocked', () => {
    expect(at(job({ outcome: outcome({}) }))).toMatchObject({ state: 'exited_ok', reasonCode: 'process_exit' });
    expect(at(job({ outcome: outcome({ state: 'no_op', reason_code: 'exit_zero_no_mutations' }) })).state).toBe(
      'no_op',
    );
    expect(
      at(
        job({
          outcome: outcome({
            state: 'failed',
            exit_code: 1,
            reason_code: 'x_rate_limited',
            failure_class: 'rate_limited',
          }),
        }),
      ),
    ).toMatchObject({
      state: 'exited_err',
      nextAction: 'retry_backoff_or_switch_provider',
    });
    expect(at(job({ outcome: outcome({ state: 'killed', exit_code: 137, reason_code: 'manual_stop' }) })).state).toBe(
      'exited_err',
    );
    expect(at(job({ outcome: outcome({ state: 'blocked', reason_code: 'max_retries_exhausted' }) })).state).toBe(
      'blocked',
    );
  });

  it('lets the outcome win over a lingering live watcher', () => {
    expect(
      at(
        job({
          watcherAlive: true,
          outcome: outcome({ state: 'failed', exit_code: 129, reason_code: 'p_rate_limited' }),
        }),
      ),
    ).toMatchObject({ state: 'exited_err', reasonCode: 'p_rate_limited' });
  });

  it('tells launching, healthy, stalled and no_op apart for a live job', () => {
    expect(
      at(
        job({
          meta: meta({ started_at: ago(10) }),
          heartbeat: hb({ events: 0, mutations: 0, last_event_at: undefined }),
        }),
      ).state,
    ).toBe('launching');
    expect(at(job({ heartbeat: hb({ events: 0, mutations: 0, last_event_at: undefined }) }))).toMatchObject({
      state: 'no_op',
      reasonCode: 'no_events_no_mutation',
    });
    expect(at(job({}))).toMatchObject({ state: 'healthy', reasonCode: 'progressing' });
    expect(
      at(job({ heartbeat: hb({ last_event_at: ago(25 * 60) }), meta: meta({ started_at: ago(3600) }) })),
    ).toMatchObject({ state: 'stalled', reasonCode: 'no_progress_events' });
    expect(at(job({ heartbeat: hb({ last_event_at: ago(90) }) }), 1).state).toBe('stalled');
    expect(at(job({ heartbeat: hb({ mutations: 0 }), meta: meta({ started_at: ago(31 * 60) }) }))).toMatchObject({
      state: 'no_op',
      reasonCode: 'no_mutation_timeout',
    });
  });

  it('does not count time the machine spent frozen (a suspend) as a stall or as runtime', () => {
    // the laptop slept 40 minutes; the watcher woke a minute ago and recorded it
    const woke = { resumed_at: ago(60), frozen_sec: 40 * 60 };
    expect(
      at(job({ heartbeat: hb({ last_event_at: ago(41 * 60), ...woke }), meta: meta({ started_at: ago(50 * 60) }) })),
    ).toMatchObject({ state: 'healthy', reasonCode: 'progressing' });
    // the stall clock starts again at the wake: a full stall window later, it is a stall again
    expect(
      at(job({ heartbeat: hb({ last_event_at: ago(70 * 60), resumed_at: ago(21 * 60), frozen_sec: 2400 }) })),
    ).toMatchObject({ state: 'stalled', reasonCode: 'no_progress_events' });
    // 130 minutes since the start, 40 of them frozen: 90 minutes of a 120-minute limit
    expect(at(job({ heartbeat: hb({ ...woke }), meta: meta({ started_at: ago(130 * 60) }) }))).toMatchObject({
      state: 'healthy',
    });
    expect(at(job({ heartbeat: hb({ ...woke }), meta: meta({ started_at: ago(165 * 60) }) }))).toMatchObject({
      state: 'stalled',
      reasonCode: 'max_runtime_exceeded',
    });
    // nor towards the no-mutation timeout
    expect(
      at(job({ heartbeat: hb({ mutations: 0, ...woke }), meta: meta({ started_at: ago(60 * 60) }) })),
    ).toMatchObject({ state: 'healthy', reasonCode: 'progressing' });
  });

  it('does not call a silent tool that is still using CPU (a long build) stalled, but a silent idle one is', () => {
    const started = meta({ started_at: ago(3600) });
    // the agent announced `npm run build` 25 minutes ago; its processes used CPU a minute ago
    expect(
      at(job({ heartbeat: hb({ last_event_at: ago(25 * 60), tools_busy_at: ago(60) }), meta: started })),
    ).toMatchObject({ state: 'healthy', reasonCode: 'tools_busy_without_events', nextAction: 'monitor' });
    // busy last 21 minutes ago: hung since then
    expect(
      at(job({ heartbeat: hb({ last_event_at: ago(25 * 60), tools_busy_at: ago(21 * 60) }), meta: started })),
    ).toMatchObject({ state: 'stalled', reasonCode: 'no_progress_events' });
    // the runtime limit still holds
    expect(
      at(job({ heartbeat: hb({ tools_busy_at: ago(60) }), meta: meta({ started_at: ago(200 * 60) }) })),
    ).toMatchObject({ state: 'stalled', reasonCode: 'max_runtime_exceeded' });
  });

  it('does not call a first build or test run longer than the no-mutation timeout a no-op while it runs', () => {
    const polled = meta({ started_at: ago(45 * 60), mutation_poll_sec: 15 });
    const running = (busyAgo: number, m = polled) =>
      at(job({ heartbeat: hb({ mutations: 0, last_event_at: ago(60), tools_busy_at: ago(busyAgo) }), meta: m }));
    // its tools used CPU at the last poll (15 s ago) or the one before
    expect(running(10)).toMatchObject({
      state: 'healthy',
      reasonCode: 'tools_busy_before_first_change',
      nextAction: 'monitor',
    });
    expect(running(34)).toMatchObject({ reasonCode: 'tools_busy_before_first_change' });
    // quiet for two polls: the timeout holds again
    expect(running(40)).toMatchObject({ state: 'no_op', reasonCode: 'no_mutation_timeout' });
    // an older job records no poll interval: as before
    expect(running(10, meta({ started_at: ago(45 * 60) }))).toMatchObject({ state: 'no_op' });
  });

  it('calls an agent repeating one tool call up to its limit stalled, though its events keep coming', () => {
    const limited = meta({ max_repeated_tool_calls: 10 });
    const looping = (n: number, m = limited) =>
      at(
        job({
          meta: m,
          heartbeat: hb({ last_event_at: ago(5), repeated_tool_calls: n, repeated_tool_call: 'Bash {}' }),
        }),
      );
    expect(looping(9)).toMatchObject({ state: 'healthy', reasonCode: 'progressing' });
    expect(looping(10)).toMatchObject({
      state: 'stalled',
      reasonCode: 'repeating_tool_calls',
      nextAction: 'read_the_log_then_restart_with_a_clearer_prompt_or_stop',
    });
    // a job started before the limit existed has none recorded: never judged so
    expect(looping(50, meta())).toMatchObject({ state: 'healthy' });
  });

  it('does not call a job waiting out a rate limit stalled', () => {
    const waiting = job({
      heartbeat: hb({ last_event_at: ago(3600), rate_limited_until: new Date(NOW + 60_000).toISOString() }),
      meta: meta({ started_at: ago(7000) }),
    });
    expect(at(waiting)).toMatchObject({
      state: 'healthy',
      reasonCode: 'rate_limit_backoff',
      nextAction: 'wait_for_rate_limit_reset_or_switch_provider',
    });
  });

  it('reports a dead watcher without an outcome as watcher_lost, and a launch that never spawned one', () => {
    expect(at(job({ watcherAlive: false }))).toMatchObject({ state: 'exited_err', reasonCode: 'watcher_lost' });
    // a watcher that died before it launched the agent (no heartbeat names one): nothing ran
    expect(at(job({ watcherAlive: false, heartbeat: undefined }))).toMatchObject({
      state: 'exited_err',
      reasonCode: 'launch_incomplete',
    });
    expect(at(job({ watcherAlive: false, meta: meta({ watcher_pid: undefined, started_at: ago(5) }) })).state).toBe(
      'launching',
    );
    expect(at(job({ watcherAlive: false, meta: meta({ watcher_pid: undefined }) })).reasonCode).toBe(
      'launch_incomplete',
    );
    // the process launching it died before the watcher answered: no need to wait out the grace
    expect(
      at(
        job({ watcherAlive: false, launcherAlive: false, meta: meta({ watcher_pid: undefined, started_at: ago(5) }) }),
      ),
    ).toMatchObject({ state: 'exited_err', reasonCode: 'launch_incomplete' });
    expect(
      at(job({ watcherAlive: false, launcherAlive: true, meta: meta({ watcher_pid: undefined, started_at: ago(5) }) }))
        .state,
    ).toBe('launching');
  });

  it('gives every reason a next_action and maps states to check exit codes', () => {
    expect(at(job({ corrupt: { file: 'f', message: 'm' } }))).toMatchObject({
      state: 'exited_err',
      reasonCode: 'state_file_corrupt',
      nextAction: 'inspect_or_remove_the_corrupt_state_file',
    });
    expect(at(job({ outcome: outcome({ state: 'failed', reason_code: 'something_new' }) })).nextAction).toBe(
      'inspect_logs_and_decide',
    );
    expect([
      exitCodeForState('healthy'),
      exitCodeForState('stalled'),
      exitCodeForState('exited_err'),
      exitCodeForState('blocked'),
      exitCodeForState('no_op'),
      exitCodeForState('exited_ok'),
    ]).toEqual([0, 2, 3, 3, 23, 0]);
  });
});
