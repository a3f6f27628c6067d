import { describe, expect, it } from 'vitest';
import type { StartOutput } from '@dx/core';
import { PendingStarts } from './starts.js';

const started = (run: string) => ({ run_instance: run }) as StartOutput;

describe('starts a cycle waits for only so long', () => {
  it('a start that outlasts the wait stays out (its item is known to be starting); its answer is taken later, once', async () => {
    const starts = new PendingStarts();
    let answer: (v: StartOutput) => void = () => undefined;
    starts.begin(
      { beadsId: 'slow', attempt: 1, jobBeads: 'slow', host: 'b' },
      () => new Promise((resolve) => (answer = resolve)),
    );
    starts.begin({ beadsId: 'quick', attempt: 2, jobBeads: 'quick-review', host: 'a' }, () =>
      Promise.resolve(started('q')),
    );
    const before = Date.now();
    await starts.wait(30);
    expect(Date.now() - before).toBeLessThan(5_000);
    expect(starts.takeAnswered().map((s) => [s.beadsId, s.attempt, s.answer])).toEqual([
      ['quick', 2, { ok: true, value: started('q') }],
    ]);
    expect([starts.has('slow'), starts.has('quick')]).toEqual([true, false]);
    expect(starts.takeAnswered()).toEqual([]);
    answer(started('s'));
    // without a bound, waits for every start out
    await starts.wait();
    expect(starts.takeAnswered().map((s) => s.answer)).toEqual([{ ok: true, value: started('s') }]);
    expect(starts.has('slow')).toBe(false);
  });

  it('a start that fails is an answer too', async () => {
    const starts = new PendingStarts();
    const err = new Error('refused');
    starts.begin({ beadsId: 'x', attempt: 1, jobBeads: 'x', host: 'local' }, () => Promise.reject(err));
    await starts.wait(1_000);
    expect(starts.takeAnswered().map((s) => s.answer)).toEqual([{ ok: false, err }]);
  });
});
