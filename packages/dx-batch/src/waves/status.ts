import type { WaveState, WaveStatus } from './state.js';

/** Wave statuses a wave may move to from each status: the one writer below refuses anything else. */
const NEXT: Record<WaveStatus, readonly WaveStatus[]> = {
  pending: ['running', 'failed', 'cancelled'],
  running: ['paused', 'completed', 'failed', 'cancelled'],
  paused: ['running', 'cancelled'],
  failed: ['running', 'cancelled'],
  completed: [],
  cancelled: [],
};

/**
 * The only writer of a wave's status (with its reason, error and timestamps): every status change
 * of the wave goes through here, and an impossible one (completed → running) is refused.
 */
export function setWaveStatus(
  state: WaveState,
  status: WaveStatus,
  reasonCode: string,
  error: string | null = null,
): void {
  if (state.status !== status && !NEXT[state.status].includes(status))
    throw new Error(`wave ${state.wave_id} cannot go from ${state.status} to ${status}`);
  const now = new Date().toISOString();
  state.status = status;
  state.reason_code = reasonCode;
  state.error = error;
  if (status === 'running') {
    state.started_at ??= now;
    state.completed_at = null;
  }
  if (status === 'completed' || status === 'failed' || status === 'cancelled') state.completed_at = now;
}
