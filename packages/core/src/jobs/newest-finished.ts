import type { FinishedRecords, JobLocation } from './store.js';

/** ISO-8601 UTC timestamps order as strings; an absent one sorts first. */
export function byTime(a: string | null, b: string | null): number {
  const x = a ?? '';
  const y = b ?? '';
  return x < y ? -1 : x > y ? 1 : 0;
}

export type FinishedEntry = JobLocation & { completedAt: string | null; records?: FinishedRecords };

/**
 * The `limit` newest finished jobs, newest first, ties in the order they came (what a stable sort
 * of them all would keep): only these are held, so a state dir full of finished jobs leaves no
 * record alive past its own iteration for the garbage collector to copy around.
 */
export class NewestFinished {
  readonly entries: FinishedEntry[] = [];
  constructor(private readonly limit: number) {}

  offer(entry: FinishedEntry): void {
    const list = this.entries;
    if (this.limit <= 0) return;
    if (list.length === this.limit && byTime(entry.completedAt, list[list.length - 1].completedAt) <= 0) return;
    // first index holding an older job: the new entry goes after every job as new or newer
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byTime(list[mid].completedAt, entry.completedAt) >= 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, entry);
    if (list.length > this.limit) list.pop();
  }
}
