import { DxError, ExitCode } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { endJob } from './control.js';
import type { RestartOutput } from '../schemas/outputs.js';
import { relaunch } from './launch.js';
import { requireJob, type JobSnapshot } from './store.js';

export interface RestartOptions {
  registry: ProviderRegistry;
  policy: Policy;
  env?: NodeJS.ProcessEnv;
  version?: string;
}

export type RestartResult = RestartOutput;

/**
 * End the current instance if it still runs (outcome `restarted`), rotate its log and outcome, and
 * launch the next instance with the same prompt, worktree and model; retries counts restarts.
 */
export async function restartInstance(root: string, job: JobSnapshot, options: RestartOptions): Promise<RestartResult> {
  const meta = job.meta;
  if (!meta) {
    throw new DxError(`cannot restart ${job.paths.beads}: ${job.corrupt?.message ?? 'no metadata'}`, { exitCode: ExitCode.general, reasonCode: 'state_file_corrupt' });
  }
  const provider = options.registry.get(meta.provider);
  let stoppedPrevious = false;
  if (!job.outcome) {
    const ended = await endJob(job, { action: 'restart', reason: 'restarted', exitCode: 143, state: 'killed' }, options.env);
    stoppedPrevious = ended.ended;
  }
  const started = await relaunch({ paths: job.paths, meta }, { root, provider, policy: options.policy, env: options.env, version: options.version });
  return { ...started, previous_run_instance: meta.run_instance, stopped_previous: stoppedPrevious };
}

export async function restartJob(root: string | undefined, beads: string, options: RestartOptions): Promise<RestartResult> {
  const job = requireJob(root, beads);
  return restartInstance(root!, job, options);
}
