import { describe, expect, it, vi } from 'vitest';
import { deadlineIn, MAX_TIMER_DELAY_MS, setLongTimeout, timerPeriod } from './timers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('setLongTimeout', () => {
  it('does not fire at once for a delay beyond what a Node timer holds (a plain setTimeout would)', async () => {
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), MAX_TIMER_DELAY_MS + 60_000);
    await sleep(150);
    timer.clear();
    expect(fired).toBe(false);
  });

  it('waits a delay longer than one step in several steps, and fires once, never before the end', async () => {
    // busy first, as a loaded process is: Node then counts its timers from an event-loop time
    // left behind, and a plain setTimeout fires that much early
    const busyUntil = performance.now() + 30;
    while (performance.now() < busyUntil);
    const started = performance.now();
    const fires: number[] = [];
    setLongTimeout(() => fires.push(performance.now() - started), 130, 40);
    // on a loaded machine the steps come late: wait for the fire (bounded), then a few more steps
    for (let i = 0; i < 100 && fires.length === 0; i++) await sleep(50);
    await sleep(200);
    expect(fires).toHaveLength(1);
    expect(fires[0]).toBeGreaterThanOrEqual(130);
  });

  it('can be cleared while it waits for a later step', async () => {
    let fired = false;
    const timer = setLongTimeout(() => (fired = true), 120, 30);
    await sleep(50);
    timer.clear();
    await sleep(150);
    expect(fired).toBe(false);
  });
});

describe('timerPeriod', () => {
  it('bounds a repeating period to what Node takes, and keeps the rest as given', () => {
    expect(timerPeriod(15_000)).toBe(15_000);
    expect(timerPeriod(1e12)).toBe(MAX_TIMER_DELAY_MS);
    expect(timerPeriod(0)).toBe(1);
  });
});

describe('deadlineIn', () => {
  it('is not moved by the wall clock: a step forward does not pass it, the time itself does', async () => {
    const deadline = deadlineIn(100);
    const wallNow = Date.now.bind(Date);
    const spy = vi.spyOn(Date, 'now').mockImplementation(() => wallNow() + 3_600_000);
    try {
      expect(deadline.passed()).toBe(false);
      expect(deadline.leftMs()).toBeGreaterThan(0);
      await sleep(150);
      expect(deadline.passed()).toBe(true);
      expect(deadline.leftMs()).toBe(0);
    } finally {
      spy.mockRestore();
    }
  });
});
