import { ghostReason, type JobSnapshot } from '../jobs/store.js';
import { nextActionFor } from './next-actions.js';
import type { HealthState } from './states.js';

export interface Health {
  state: HealthState;
  reasonCode: string;
  nextAction: string;
}

export interface HealthOptions {
  now?: number;
  /** `check --stall-minutes` overrides the threshold recorded at start. */
  stallMinutes?: number;
}

/** A start that never spawned its watcher is given this long before it is called incomplete. */
const LAUNCH_ACK_GRACE_MS = 60_000;
/** The watcher enforces max runtime itself; past this slack (a quarter of the limit, 1 s..60 s) it is not doing its job. */
function maxRuntimeSlackMs(limitMs: number): number {
  return Math.min(60_000, Math.max(1000, limitMs / 4));
}

function health(state: HealthState, reasonCode: string, failureClass?: string, explicitNext?: string): Health {
  return { state, reasonCode, nextAction: nextActionFor(reasonCode, failureClass, explicitNext) };
}

function since(iso: string | undefined, now: number): number {
  if (!iso) return Infinity;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? now - t : Infinity;
}

/** Tools that used CPU at one of the watcher's last two polls (a poll can come late under load). */
function toolsBusyAtLastPoll(pollSec: number | undefined, busyAt: string | undefined, now: number): boolean {
  return pollSec !== undefined && since(busyAt, now) <= 2 * pollSec * 1000 + 5_000;
}

/**
 * The health state of a job, from its files alone: the outcome when there is one (it is
 * authoritative), else the watcher's heartbeat — parsed provider events and worktree mutations,
 * not log bytes or CPU time.
 */
export function evaluateHealth(job: JobSnapshot, options: HealthOptions = {}): Health {
  const now = options.now ?? Date.now();
  if (job.corrupt) return health('exited_err', 'state_file_corrupt');
  const meta = job.meta;
  if (!meta) return health('exited_err', 'state_file_corrupt');
  if (job.blocked) return health('blocked', job.blocked.reason, undefined, 'manual_intervention_required');

  const outcome = job.outcome;
  // the replaced instance's outcome, while its restart launches the next one
  if (job.restartInProgress) return health('launching', 'restart_in_progress');
  if (outcome) {
    switch (outcome.state) {
      case 'success':
        return health('exited_ok', outcome.reason_code, outcome.failure_class, outcome.next_action);
      case 'no_op':
        return health('no_op', outcome.reason_code, outcome.failure_class, outcome.next_action);
      case 'blocked':
        return health(
          'blocked',
          outcome.reason_code,
          outcome.failure_class,
          outcome.next_action ?? 'manual_intervention_required',
        );
      default:
        return health('exited_err', outcome.reason_code, outcome.failure_class, outcome.next_action);
    }
  }

  if (job.identityUnproven) return health('exited_err', 'identity_unproven');
  const age = since(meta.started_at, now);
  if (!job.watcherAlive) {
    if (meta.watcher_pid === undefined) {
      // a launch whose `start` is gone (killed before the watcher answered) will never be acknowledged
      return age < LAUNCH_ACK_GRACE_MS && job.launcherAlive !== false
        ? health('launching', 'launch_in_progress')
        : health('exited_err', 'launch_incomplete');
    }
    return health('exited_err', ghostReason(job));
  }

  const hb = job.heartbeat;
  if (hb?.terminating) return health('healthy', 'stopping');
  // time the machine spent frozen (a suspend, a paused VM) is not runtime: the agent was frozen too
  const runAge = age - (hb?.frozen_sec ?? 0) * 1000;
  const limitMs = meta.max_runtime_minutes * 60_000;
  if (runAge > limitMs + maxRuntimeSlackMs(limitMs)) return health('stalled', 'max_runtime_exceeded');
  const events = hb?.events ?? 0;
  const mutations = hb?.mutations ?? 0;
  // a read-only task (a review) is expected to change nothing: only events tell progress
  const readOnly = meta.expect_no_changes === true;
  if (events === 0) {
    if (runAge < meta.startup_grace_sec * 1000) return health('launching', 'awaiting_first_event');
    if (mutations > 0) return health('healthy', 'mutating_without_events');
    return readOnly ? health('stalled', 'no_progress_events') : health('no_op', 'no_events_no_mutation');
  }
  // events keep coming, but the agent makes the same call (or two in turn) over and over and
  // changes nothing: stuck, spending tokens (a stall by another sign)
  if (meta.max_repeated_tool_calls !== undefined && (hb?.repeated_tool_calls ?? 0) >= meta.max_repeated_tool_calls)
    return health('stalled', 'repeating_tool_calls');
  if (hb?.rate_limited_until && Date.parse(hb.rate_limited_until) > now) return health('healthy', 'rate_limit_backoff');
  if (hb?.final_result_at) return health('healthy', 'finishing_after_final_result');
  const stallMs = (options.stallMinutes ?? meta.stall_minutes) * 60_000;
  // nor is it a stall: the stall clock starts again when the watcher wakes
  const lastProgress = Math.min(
    since(hb?.last_event_at, now),
    since(hb?.last_mutation_at, now),
    since(hb?.resumed_at, now),
  );
  if (lastProgress > stallMs) {
    // a tool working silently (a long build, a test suite): its processes still use CPU
    if (since(hb?.tools_busy_at, now) <= stallMs) return health('healthy', 'tools_busy_without_events');
    return health('stalled', 'no_progress_events');
  }
  if (!readOnly && mutations === 0 && runAge > meta.no_mutation_timeout_minutes * 60_000) {
    // a first build or test run longer than the timeout is work in flight: calling it no_op gets
    // it stopped mid-run by whoever owns the job; the timeout holds again once its tools go quiet
    if (toolsBusyAtLastPoll(meta.mutation_poll_sec, hb?.tools_busy_at, now))
      return health('healthy', 'tools_busy_before_first_change');
    return health('no_op', 'no_mutation_timeout');
  }
  return health('healthy', 'progressing');
}
