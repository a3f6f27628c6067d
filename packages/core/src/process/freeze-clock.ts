import { positiveNumberFromEnv } from '../jobs/limits.js';

/**
 * A process that was frozen — the machine suspended, the VM paused, the process group stopped —
 * finds on waking that a periodic timer of its fired late by about the time it was frozen. The
 * agent was frozen with it, so that time is not a stall and does not count towards a job's limits:
 * the watcher records it in the heartbeat (`resumed_at`, `frozen_sec`), and the long-running
 * readers that judge health by the clock (the watchdog, dx-batch) give the watchers a moment to
 * record it before they judge again.
 */
export const FREEZE_GAP_ENV = 'DX_RUNNER_FREEZE_GAP_SEC';
const DEFAULT_FREEZE_GAP_SEC = 30;

/** How long a reader that woke from a freeze waits before judging: a watcher notices within a second. */
export const AFTER_FREEZE_SETTLE_MS = 2_000;

/** How late a periodic timer must be before its process is taken to have been frozen. */
export function freezeGapMs(env: NodeJS.ProcessEnv = process.env): number {
  return positiveNumberFromEnv(env, FREEZE_GAP_ENV, DEFAULT_FREEZE_GAP_SEC) * 1000;
}

export class FreezeClock {
  private last: number;

  constructor(
    private readonly periodMs: number,
    private readonly gapMs: number,
    now = Date.now(),
  ) {
    this.last = now;
  }

  /**
   * Called once per period: the milliseconds this process was frozen since the previous call, or 0
   * when it came about on time (a clock set back counts as on time).
   */
  tick(now = Date.now()): number {
    const late = now - this.last - this.periodMs;
    this.last = now;
    return late >= this.gapMs ? late : 0;
  }
}
