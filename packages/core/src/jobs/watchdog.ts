import { evaluateHealth } from '../health/evaluate.js';
import type { Policy } from '../policy/schema.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { WatchdogPassOutput } from '../schemas/outputs.js';
import { blockJob, endJob } from './control.js';
import { restartInstance } from './restart.js';
import { listJobs } from './store.js';

export interface WatchdogOptions {
  registry: ProviderRegistry;
  policy: Policy;
  maxRetries: number;
  stallMinutes?: number;
  env?: NodeJS.ProcessEnv;
  version?: string;
}

export type WatchdogPass = WatchdogPassOutput;
type WatchdogAction = WatchdogPassOutput['actions'][number];

/**
 * One watchdog pass (runbook "Watchdog Mode"): restart stalled / no_op jobs while retries remain,
 * mark them blocked after max retries, force-finalize jobs past their runtime limit and jobs whose
 * watcher died. A failing restart is reported and the pass goes on.
 */
export async function watchdogPass(root: string | undefined, options: WatchdogOptions): Promise<WatchdogPass> {
  const pass: WatchdogPass = { generated_at: new Date().toISOString(), checked: 0, actions: [] };
  for (const job of listJobs(root)) {
    if (job.corrupt || !job.meta) continue;
    pass.checked++;
    const health = evaluateHealth(job, { stallMinutes: options.stallMinutes });
    const entry: WatchdogAction = {
      beads: job.paths.beads,
      provider: job.paths.provider,
      state: health.state,
      reason_code: health.reasonCode,
      action: 'none',
      retries: job.meta.retries,
      detail: '',
    };
    try {
      if (health.state === 'stalled' && health.reasonCode === 'max_runtime_exceeded') {
        await endJob(job, { action: 'timeout', reason: 'max_runtime_exceeded', exitCode: 124, state: 'timeout' }, options.env);
        entry.action = 'finalized_timeout';
      } else if (health.state === 'exited_err' && (health.reasonCode === 'watcher_lost' || health.reasonCode === 'launch_incomplete')) {
        await endJob(job, { action: 'finalize', reason: health.reasonCode, exitCode: 1, state: 'failed' }, options.env);
        entry.action = 'finalized_ghost';
      } else if (health.state === 'stalled' || health.state === 'no_op') {
        if (job.meta.retries < options.maxRetries) {
          const restarted = await restartInstance(root!, job, options);
          entry.action = 'restarted';
          entry.retries = restarted.retries;
          entry.detail = `retry ${restarted.retries}/${options.maxRetries}`;
        } else {
          await blockJob(job, 'max_retries_exhausted', options.env);
          entry.action = 'blocked';
          entry.detail = `after ${job.meta.retries} retries (${health.state}: ${health.reasonCode})`;
        }
      }
    } catch (err) {
      entry.action = entry.action === 'none' ? 'restart_failed' : entry.action;
      entry.detail = (err as Error).message;
    }
    if (entry.action !== 'none' || (health.state !== 'exited_ok' && health.state !== 'exited_err' && health.state !== 'blocked')) {
      pass.actions.push(entry);
    }
  }
  return pass;
}
