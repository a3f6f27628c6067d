/**
 * A host's clock as seen from this machine. A remote dx-runner dates its jobs by its own clock,
 * which may be seconds or minutes off ours when the host does not sync time: comparing its
 * `started_at` with a time taken here misjudges which attempt a job belongs to. Each answer that
 * carries the host's time (`status`'s `generated_at`) tells the offset, to within the call's
 * duration.
 */
export interface HostClock {
  /** How far the host's clock is ahead of this machine's (negative: behind). */
  offsetMs: number;
  /** The offset is known to within ± this much (half the call that measured it). */
  uncertaintyMs: number;
}

/** This machine's own clock (an in-process read, or a host that shares it). */
export const SAME_CLOCK: HostClock = { offsetMs: 0, uncertaintyMs: 0 };

/**
 * The host's clock from one answer: the host read its clock (`hostTime`) somewhere between our
 * asking (`askedAtMs`) and its answer arriving (`answeredAtMs`), both by this machine's clock.
 * Undefined when the host's time cannot be read.
 */
export function measureHostClock(hostTime: string, askedAtMs: number, answeredAtMs: number): HostClock | undefined {
  const host = Date.parse(hostTime);
  if (!Number.isFinite(host) || answeredAtMs < askedAtMs) return undefined;
  const midpoint = (askedAtMs + answeredAtMs) / 2;
  return { offsetMs: host - midpoint, uncertaintyMs: (answeredAtMs - askedAtMs) / 2 };
}

/**
 * Whether a time the host wrote (`hostTime`, by its clock) is certainly before `localTime` (by
 * ours): true only when it is, whatever the offset within its uncertainty (with this machine's own
 * clock, a plain comparison). Undefined when either time cannot be read.
 */
export function certainlyBefore(hostTime: string, localTime: string, clock: HostClock): boolean | undefined {
  const host = Date.parse(hostTime);
  const local = Date.parse(localTime);
  if (!Number.isFinite(host) || !Number.isFinite(local)) return undefined;
  return host - clock.offsetMs + clock.uncertaintyMs < local;
}

/** Whether a host's time is certainly after a local one (the mirror of `certainlyBefore`). */
export function certainlyAfter(hostTime: string, localTime: string, clock: HostClock): boolean | undefined {
  const host = Date.parse(hostTime);
  const local = Date.parse(localTime);
  if (!Number.isFinite(host) || !Number.isFinite(local)) return undefined;
  return host - clock.offsetMs - clock.uncertaintyMs > local;
}
