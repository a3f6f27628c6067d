import { describe, expect, it } from 'vitest';
import { FreezeClock, freezeGapMs } from './freeze-clock.js';

describe('FreezeClock', () => {
  it('answers 0 for beats about on time, and the lateness of a beat that came a gap or more too late', () => {
    const clock = new FreezeClock(500, 30_000, 0);
    expect(clock.tick(500)).toBe(0);
    expect(clock.tick(1_700)).toBe(0); // 700 ms late: a busy machine, not a freeze
    expect(clock.tick(2_200 + 29_000)).toBe(0); // just under the gap
    expect(clock.tick(31_200 + 500 + 45_000)).toBe(45_000); // frozen 45 s
    expect(clock.tick(76_700 + 500)).toBe(0); // on time again
    expect(clock.tick(60_000)).toBe(0); // the clock set back: not a freeze
  });

  it('reads the gap from DX_RUNNER_FREEZE_GAP_SEC (30 s when unset) and refuses a bad value', () => {
    expect(freezeGapMs({})).toBe(30_000);
    expect(freezeGapMs({ DX_RUNNER_FREEZE_GAP_SEC: '2.5' })).toBe(2_500);
    expect(() => freezeGapMs({ DX_RUNNER_FREEZE_GAP_SEC: 'soon' })).toThrow(
      /DX_RUNNER_FREEZE_GAP_SEC must be a positive number/,
    );
  });
});
