/** Outcome states and their derivation from an exit code (kept free of zod: the watcher imports it). */
export const OUTCOME_STATES = ['success', 'failed', 'killed', 'timeout', 'no_op', 'blocked'] as const;
export type OutcomeState = (typeof OUTCOME_STATES)[number];

export function outcomeStateForExit(exitCode: number): OutcomeState {
  if (exitCode === 0) return 'success';
  if (exitCode === 137 || exitCode === 143) return 'killed';
  if (exitCode === 124) return 'timeout';
  if (exitCode === 23) return 'no_op';
  return 'failed';
}
