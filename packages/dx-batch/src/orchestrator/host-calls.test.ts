import { describe, expect, it } from 'vitest';
import { BoundedHostCalls } from './host-calls.js';

describe('calls to hosts a cycle waits for only so long', () => {
  it('a call that outlasts the wait goes on; no second one starts; a later cycle takes its answer', async () => {
    const calls = new BoundedHostCalls(() => 20);
    let started = 0;
    let answer: (v: string) => void = () => undefined;
    const slow = () => {
      started += 1;
      return new Promise<string>((resolve) => (answer = resolve));
    };
    expect(await calls.get('status:b', slow)).toBeUndefined();
    expect(await calls.get('status:b', slow)).toBeUndefined();
    expect(started).toBe(1);
    answer('late');
    expect(await calls.get('status:b', slow)).toEqual({ ok: true, value: 'late' });
    // taken once: the next cycle asks again
    void calls.get('status:b', slow);
    expect(started).toBe(2);
  });

  it('a quick answer or failure is taken in the same cycle; keys are independent', async () => {
    const calls = new BoundedHostCalls(() => 1_000);
    expect(await calls.get('status:a', () => Promise.resolve(1))).toEqual({ ok: true, value: 1 });
    const err = new Error('refused');
    expect(await calls.get('status:c', () => Promise.reject(err))).toEqual({ ok: false, err });
  });
});
