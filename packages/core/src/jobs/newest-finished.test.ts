import { describe, expect, it } from 'vitest';
import { jobPaths } from '../state/layout.js';
import { byTime, NewestFinished, type FinishedEntry } from './newest-finished.js';

/** `status --recent N` keeps only N finished jobs in memory: it must show what sorting them all would. */
function entry(beads: string, completedAt: string | null): FinishedEntry {
  return { paths: jobPaths('/state', 'fake', beads), otherProviders: [], completedAt };
}

describe('NewestFinished', () => {
  it('keeps what a stable sort of every finished job, newest first, would show: ties and unknown times included', () => {
    // a seeded walk, so a failure names a case that can be replayed
    let seed = 17;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 200; round++) {
      const count = Math.floor(random() * 40);
      const entries = Array.from({ length: count }, (_, i) => {
        const minute = Math.floor(random() * 8); // few distinct times: many ties
        return entry(`bd-${round}-${i}`, minute === 0 ? null : `2026-11-30T06:0${minute}:00.000Z`);
      });
      for (const limit of [0, 1, 2, 5, count, count + 3]) {
        const kept = new NewestFinished(limit);
        for (const e of entries) kept.offer(e);
        const expected = [...entries].sort((a, b) => byTime(b.completedAt, a.completedAt)).slice(0, limit);
        expect(
          kept.entries.map((e) => e.paths.beads),
          `round ${round}, limit ${limit}`,
        ).toEqual(expected.map((e) => e.paths.beads));
      }
    }
  });
});
