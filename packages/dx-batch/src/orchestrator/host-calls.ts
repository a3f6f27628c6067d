/** How a call ended: its value, or what it threw. */
export type Settled<T> = { ok: true; value: T } | { ok: false; err: unknown };

interface InFlight {
  promise: Promise<void>;
  result?: Settled<unknown>;
}

/**
 * Calls to the wave's hosts that a cycle waits for only so long. A host whose dx-runner hangs (a
 * state root on a stuck mount) or whose network drops packets answers nothing until the call's own
 * timeout, minutes later: waiting for it held every other host's items too, each cycle. A call that
 * outlasts the wait keeps running; the cycle goes on without its answer, no second call with the
 * same key starts meanwhile, and a later cycle takes the answer once it is in.
 */
export class BoundedHostCalls {
  private readonly inFlight = new Map<string, InFlight>();

  constructor(private readonly waitMs: () => number) {}

  /**
   * The call's result, or undefined while it has not ended within `waitMs` (it goes on: ask again
   * later).
   */
  async get<T>(key: string, call: () => Promise<T>, waitMs = this.waitMs()): Promise<Settled<T> | undefined> {
    let entry = this.inFlight.get(key);
    if (!entry) {
      const started: InFlight = { promise: Promise.resolve() };
      started.promise = call().then(
        (value) => void (started.result = { ok: true, value }),
        (err: unknown) => void (started.result = { ok: false, err }),
      );
      this.inFlight.set(key, started);
      entry = started;
    }
    if (!entry.result) await waitAtMost(entry.promise, waitMs);
    if (!entry.result) return undefined;
    this.inFlight.delete(key);
    return entry.result as Settled<T>;
  }
}

/** Waits until `work` settles or `waitMs` has passed, whichever comes first; `work` goes on either way. */
export async function waitAtMost(work: Promise<unknown>, waitMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.then(noop, noop), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
  clearTimeout(timer);
}

function noop(): void {}
