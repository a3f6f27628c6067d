import { describe, expect, it } from 'vitest';
import { certainlyAfter, certainlyBefore, measureHostClock, SAME_CLOCK } from './host-clock.js';

describe("a host's clock read from its answers", () => {
  it('the offset is the host time against the midpoint of the call, known to within half the call', () => {
    const asked = Date.parse('2026-12-01T10:00:00.000Z');
    // the host, 30 s behind, read its clock during a 600 ms call
    expect(measureHostClock('2026-12-01T09:59:30.300Z', asked, asked + 600)).toEqual({
      offsetMs: -30_000,
      uncertaintyMs: 300,
    });
    expect(measureHostClock('not a time', asked, asked + 600)).toBeUndefined();
    expect(measureHostClock('2026-12-01T09:59:30.300Z', asked, asked - 1)).toBeUndefined();
  });

  it('a host time is before or after ours only beyond the uncertainty of the reading', () => {
    const behind = { offsetMs: -30_000, uncertaintyMs: 300 };
    // written 09:59:35 by a host 30 s behind: 10:00:05 ours, after a 10:00:00 request
    expect(certainlyBefore('2026-12-01T09:59:35.000Z', '2026-12-01T10:00:00.000Z', behind)).toBe(false);
    expect(certainlyBefore('2026-12-01T09:59:35.000Z', '2026-12-01T10:00:00.000Z', SAME_CLOCK)).toBe(true);
    expect(certainlyAfter('2026-12-01T09:59:35.000Z', '2026-12-01T10:00:00.000Z', behind)).toBe(true);
    // this machine's own clock: a plain comparison, to the millisecond
    expect(certainlyBefore('2026-12-01T09:59:59.999Z', '2026-12-01T10:00:00.000Z', SAME_CLOCK)).toBe(true);
    expect(certainlyBefore('2026-12-01T10:00:00.000Z', '2026-12-01T10:00:00.000Z', SAME_CLOCK)).toBe(false);
    // within the reading's uncertainty (±300 ms): neither
    expect(certainlyBefore('2026-12-01T09:59:29.800Z', '2026-12-01T10:00:00.000Z', behind)).toBe(false);
    expect(certainlyAfter('2026-12-01T09:59:30.200Z', '2026-12-01T10:00:00.000Z', behind)).toBe(false);
    expect(certainlyBefore('2026-12-01T09:59:29.600Z', '2026-12-01T10:00:00.000Z', behind)).toBe(true);
    expect(certainlyBefore('garbled', '2026-12-01T10:00:00.000Z', behind)).toBeUndefined();
  });
});
