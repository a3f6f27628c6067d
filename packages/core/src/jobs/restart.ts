import { assertGitCanUseWorktree } from '../gates/worktree.js';
import { DxError, ExitCode } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { awaitWatcherExit, endJob, identityUnprovenError, withJobLock } from './control.js';
import type { RestartOutput } from '../schemas/outputs.js';
import { checkRelaunch, relaunch } from './launch.js';
import type { PrespawnedWatcher } from './watcher/prespawn.js';
import { requireJob, type JobSnapshot } from './store.js';

export interface RestartOptions {
  registry: ProviderRegistry;
  policy: Policy;
  env?: NodeJS.ProcessEnv;
  version?: string;
  /** A watcher spawned ahead for the next instance (see prespawn.ts); a new one is spawned without. */
  watcher?: PrespawnedWatcher;
}

export type RestartResult = RestartOutput;

/**
 * End the current instance if it still runs (outcome `restarted`), rotate its log and outcome, and
 * launch the next instance with the same prompt, worktree and model; retries counts restarts. The
 * caller holds the job's lock; the old watcher is gone before the new instance's files exist.
 */
export async function restartInstance(root: string, job: JobSnapshot, options: RestartOptions): Promise<RestartResult> {
  const meta = job.meta;
  if (!meta) {
    throw new DxError(`cannot restart ${job.paths.beads}: ${job.corrupt?.message ?? 'no metadata'}`, {
      exitCode: ExitCode.general,
      reasonCode: 'state_file_corrupt',
      nextAction: 'inspect_or_remove_the_corrupt_state_file',
    });
  }
  if (job.identityUnproven) throw identityUnprovenError(job, 'restart');
  const provider = options.registry.get(meta.provider);
  const relaunchOptions = {
    root,
    provider,
    policy: options.policy,
    env: options.env,
    version: options.version,
    lockHeld: true,
    watcher: options.watcher,
  };
  // what would refuse the relaunch must not cost the running instance: a bad environment, a
  // policy that no longer allows its worktree or model, a disk already short, a prompt copy gone,
  // a plugin's launch the watcher cannot run, a repository git can no longer use (a pruned linked
  // worktree, a git config broken since); all checked before any stop
  const inputs = await checkRelaunch({ paths: job.paths, meta }, relaunchOptions);
  await assertGitCanUseWorktree(meta.worktree, options.env);
  let stoppedPrevious = false;
  if (!job.outcome) {
    const ended = await endJob(
      job,
      { action: 'restart', reason: 'restarted', exitCode: 143, state: 'killed' },
      options.env,
    );
    stoppedPrevious = ended.ended;
  } else {
    await awaitWatcherExit(job);
  }
  const started = await relaunch({ paths: job.paths, meta }, relaunchOptions, inputs);
  return { ...started, previous_run_instance: meta.run_instance, stopped_previous: stoppedPrevious };
}

export async function restartJob(
  root: string | undefined,
  beads: string,
  options: RestartOptions,
): Promise<RestartResult> {
  requireJob(root, beads);
  return withJobLock(root!, beads, () => restartInstance(root!, requireJob(root, beads), options));
}
