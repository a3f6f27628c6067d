import { certainlyAfter, certainlyBefore, type HostClock, type JobView } from '@dx/core';
import type { LostJob } from '../waves/state.js';

/** What became of a job given up with its host, judged from what that host now records under its name. */
export type LostJobFate = 'another_job' | 'still_running' | 'finished';

/**
 * With the lost job's run instance known, only that instance is ours. Without it (the start was
 * cut off before its answer), ours is a job that started between the attempt's request and the
 * give-up: the name is the item's and phase's, shared by every attempt, so a job started before
 * the request is an earlier attempt's and one started after the give-up is a later one. The times
 * are the host's clock against ours, compared through the host's clock as the same answer showed
 * it; a job the host cannot date, or one within that reading's uncertainty, is taken as ours
 * (stopping it is the safe side).
 */
export function lostJobFate(
  lost: LostJob,
  view: Pick<JobView, 'run_instance' | 'started_at' | 'outcome_state'>,
  clock: HostClock,
): LostJobFate {
  const started = view.started_at;
  const ours = lost.run_instance
    ? view.run_instance === lost.run_instance
    : started === null ||
      (certainlyAfter(started, lost.lost_at, clock) !== true &&
        (lost.requested_at === null || certainlyBefore(started, lost.requested_at, clock) !== true));
  if (!ours) return 'another_job';
  return view.outcome_state === null ? 'still_running' : 'finished';
}
