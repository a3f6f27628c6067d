import { describe, expect, it } from 'vitest';
import { jobFileNames } from './retention.js';

describe('jobFileNames', () => {
  it("lists one job's files with its record last: a prune killed half-way leaves a job the next one finds", () => {
    const dir = [
      'bd-1.outcome',
      'bd-1.log',
      'bd-1.meta',
      'bd-1.log.1',
      'bd-10.meta',
      'bd-1.watcher.log',
      'bd-1.home',
      'bd-1.outcome.1',
      'bd-1.heartbeat',
    ];
    const order = jobFileNames(dir, 'bd-1');
    expect(order).toEqual([
      'bd-1.log',
      'bd-1.log.1',
      'bd-1.watcher.log',
      'bd-1.home',
      'bd-1.outcome.1',
      'bd-1.heartbeat',
      'bd-1.meta',
      'bd-1.outcome',
    ]);
    // wherever the removal stops, what is left is listed (its meta is there) or is the outcome alone
    for (let removed = 0; removed < order.length; removed++) {
      const left = order.slice(removed);
      expect(left.includes('bd-1.meta') || left.join() === 'bd-1.outcome', `stopped after ${removed}`).toBe(true);
      if (left.includes('bd-1.meta'))
        expect(left, 'a meta without its outcome reads as a lost watcher').toContain('bd-1.outcome');
    }
  });
});
