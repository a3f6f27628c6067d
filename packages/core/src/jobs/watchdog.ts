import { evaluateHealth } from '../health/evaluate.js';
import { jobLockName } from '../state/layout.js';
import type { Policy } from '../policy/schema.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { WatchdogPassOutput } from '../schemas/outputs.js';
import { acquireLock, LockTimeoutError } from '../state/lock.js';
import { blockJob, endGhost, endJob } from './control.js';
import { restartInstance } from './restart.js';
import { applyJobRetention, onceEvery, RETENTION_PERIOD_MS, retentionOptions } from './retention.js';
import { listJobs, loadJob, type JobSnapshot } from './store.js';

export interface WatchdogOptions {
  registry: ProviderRegistry;
  /** Apply the policy's job retention when a day has passed since the last time (long-running watchdogs). */
  dailyRetention?: boolean;
  policy: Policy;
  maxRetries: number;
  stallMinutes?: number;
  env?: NodeJS.ProcessEnv;
  version?: string;
}

export type WatchdogPass = WatchdogPassOutput;
type WatchdogAction = WatchdogPassOutput['actions'][number];

/** What the watchdog does with one job; only live work is ever acted on. */
async function tend(root: string, job: JobSnapshot, entry: WatchdogAction, options: WatchdogOptions): Promise<void> {
  const meta = job.meta!;
  if (job.outcome) return;
  if (job.identityUnproven) {
    entry.action = 'left_identity_unproven';
    entry.detail = `${job.identityUnproven}; nothing signalled`;
    return;
  }
  if (entry.state === 'stalled' && entry.reason_code === 'max_runtime_exceeded') {
    await endJob(
      job,
      { action: 'timeout', reason: 'max_runtime_exceeded', exitCode: 124, state: 'timeout' },
      options.env,
    );
    entry.action = 'finalized_timeout';
    return;
  }
  if (
    entry.state === 'exited_err' &&
    (entry.reason_code === 'watcher_lost' || entry.reason_code === 'launch_incomplete')
  ) {
    await endGhost(job, entry.reason_code, options.env);
    entry.action = 'finalized_ghost';
    return;
  }
  // restarting or blocking is only for an agent that is alive and making no progress
  if ((entry.state !== 'stalled' && entry.state !== 'no_op') || !job.agentAlive) return;
  if (meta.owner) {
    entry.action = 'left_to_owner';
    entry.detail = `started by ${meta.owner}, which decides about restarts`;
    return;
  }
  if (meta.retries < options.maxRetries) {
    const restarted = await restartInstance(root, job, options);
    entry.action = 'restarted';
    entry.retries = restarted.retries;
    entry.detail = `retry ${restarted.retries}/${options.maxRetries}`;
  } else {
    await blockJob(job, 'max_retries_exhausted', options.env);
    entry.action = 'blocked';
    entry.detail = `after ${meta.retries} retries (${entry.state}: ${entry.reason_code})`;
  }
}

/**
 * One watchdog pass : restart live jobs that are stalled or make no
 * progress while retries remain, mark them blocked after max retries, finalize once the jobs past
 * their runtime limit and those whose watcher died. A finished job is never re-run; a job started
 * by dx-batch or nightly-dispatch is reported and left to its owner; a job another command is
 * controlling is skipped this pass.
 */
export async function watchdogPass(root: string | undefined, options: WatchdogOptions): Promise<WatchdogPass> {
  const pass: WatchdogPass = { generated_at: new Date().toISOString(), checked: 0, actions: [], retention: null };
  if (root && options.dailyRetention) {
    pass.retention =
      (await onceEvery(root, '.retention-last-run', RETENTION_PERIOD_MS, () =>
        applyJobRetention(root, retentionOptions(options.policy)),
      )) ?? null;
  }
  for (const listed of listJobs(root)) {
    if (listed.corrupt || !listed.meta || listed.outcome) continue;
    pass.checked++;
    const entry: WatchdogAction = {
      beads: listed.paths.beads,
      provider: listed.paths.provider,
      state: '',
      reason_code: '',
      action: 'none',
      retries: listed.meta.retries,
      detail: '',
    };
    let lock;
    try {
      lock = await acquireLock(root!, jobLockName(listed.paths.beads), 2000);
    } catch (err) {
      if (!(err instanceof LockTimeoutError)) throw err;
      pass.actions.push({
        ...entry,
        state: 'unknown',
        reason_code: 'lock_busy',
        action: 'skipped_busy',
        detail: 'another command is controlling this job',
      });
      continue;
    }
    try {
      // read again under the lock: another command may have changed the job since the listing
      const job = loadJob(listed.paths, listed.otherProviders);
      if (job.corrupt || !job.meta || job.outcome || job.meta.run_instance !== listed.meta.run_instance) continue;
      const health = evaluateHealth(job, { stallMinutes: options.stallMinutes });
      entry.state = health.state;
      entry.reason_code = health.reasonCode;
      await tend(root!, job, entry, options);
    } catch (err) {
      entry.action = entry.action === 'none' ? 'restart_failed' : entry.action;
      entry.detail = (err as Error).message;
    } finally {
      lock.release();
    }
    if (entry.action !== 'none' || !['exited_ok', 'exited_err', 'blocked'].includes(entry.state))
      pass.actions.push(entry);
  }
  return pass;
}
