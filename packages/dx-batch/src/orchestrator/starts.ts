import type { StartOutput } from '@dx/core';
import { waitAtMost, type Settled } from './host-calls.js';

/** A dx-runner start asked for one attempt of an item, and its answer once it came. */
export interface PendingStart {
  beadsId: string;
  attempt: number;
  jobBeads: string;
  /** Where it was asked to run. */
  host: string;
  /** When the start was asked for. */
  at: string;
  answer?: Settled<StartOutput>;
  answered: Promise<void>;
}

/**
 * The wave's starts in flight. A start to a host whose dx-runner hangs (a worktree on a stuck
 * mount) answers only at the call's timeout, minutes later: waiting for it held every other host's
 * items, every time an item was placed there. A cycle waits for its starts only so long; the others
 * go on in the background, their items are not polled meanwhile (there is no job to ask about yet),
 * and a later cycle applies their answers.
 */
export class PendingStarts {
  private readonly byItem = new Map<string, PendingStart>();

  begin(
    item: { beadsId: string; attempt: number; jobBeads: string; host: string },
    call: () => Promise<StartOutput>,
  ): void {
    const start: PendingStart = { ...item, at: new Date().toISOString(), answered: Promise.resolve() };
    start.answered = call().then(
      (value) => void (start.answer = { ok: true, value }),
      (err: unknown) => void (start.answer = { ok: false, err }),
    );
    this.byItem.set(item.beadsId, start);
  }

  /** The item's start has not been answered, or its answer not applied yet. */
  has(beadsId: string): boolean {
    return this.byItem.has(beadsId);
  }

  /** Waits for the starts in flight: at most `waitMs`, or until every one answered. */
  async wait(waitMs?: number): Promise<void> {
    const all = Promise.all([...this.byItem.values()].map((s) => s.answered));
    if (waitMs === undefined) return void (await all);
    await waitAtMost(all, waitMs);
  }

  /** The starts answered so far, no longer in flight: their answers are the caller's to apply. */
  takeAnswered(): PendingStart[] {
    const answered = [...this.byItem.values()].filter((s) => s.answer);
    for (const s of answered) this.byItem.delete(s.beadsId);
    return answered;
  }
}
