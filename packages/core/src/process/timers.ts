/**
 * Node's timers take a delay of at most 2^31-1 ms (24.8 days): a longer one fires after 1 ms, with
 * nothing but a warning on stderr. A limit an operator sets high to mean "practically never" (a
 * 30-day runtime, a week-long wait) must not mean "now", nor a poll period turn into a busy loop.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

export interface LongTimeout {
  clear(): void;
}

/**
 * `setTimeout` for any delay: one longer than Node's timers take is waited in steps, on the same
 * monotonic clock Node's timers use, and it never fires before the delay has passed on that clock.
 * `maxStepMs` exists for tests.
 */
export function setLongTimeout(fn: () => void, delayMs: number, maxStepMs = MAX_TIMER_DELAY_MS): LongTimeout {
  const due = performance.now() + Math.max(0, delayMs);
  let timer: NodeJS.Timeout;
  // Node counts a timer from the event loop's cached time, which a busy loop leaves behind: a step
  // can end a little before `due` (1.3 ms was seen under load), so each step ends by checking it
  const step = () => {
    const left = due - performance.now();
    timer = setTimeout(() => (due - performance.now() > 0 ? step() : fn()), Math.max(0, Math.min(left, maxStepMs)));
  };
  step();
  return { clear: () => clearTimeout(timer) };
}

/** A repeating timer's period as Node's timers take it: a period beyond 24.8 days polls every 24.8 days. */
export function timerPeriod(periodMs: number): number {
  return Math.min(Math.max(periodMs, 1), MAX_TIMER_DELAY_MS);
}

export interface Deadline {
  passed(): boolean;
  leftMs(): number;
}

/**
 * A deadline `ms` from now on the monotonic clock, for a bounded wait: a wall clock stepped back or
 * forward meanwhile (NTP, `date -s`, a VM's correction) neither lengthens the wait by the step (a
 * `stop` waiting an hour for a kill grace) nor cuts it short.
 */
export function deadlineIn(ms: number): Deadline {
  const at = performance.now() + ms;
  return { passed: () => performance.now() >= at, leftMs: () => Math.max(0, at - performance.now()) };
}
