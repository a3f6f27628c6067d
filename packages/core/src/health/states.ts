/** The health states of a job. */
export const HEALTH_STATES = [
  'launching',
  'healthy',
  'stalled',
  'no_op',
  'exited_ok',
  'exited_err',
  'blocked',
] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

/** `check` exits with the code of the state it reports. */
export function exitCodeForState(state: HealthState): number {
  switch (state) {
    case 'stalled':
      return 2;
    case 'exited_err':
    case 'blocked':
      return 3;
    case 'no_op':
      return 23;
    default:
      return 0;
  }
}

export function isTerminal(state: HealthState): boolean {
  return state === 'exited_ok' || state === 'exited_err' || state === 'no_op' || state === 'blocked';
}
