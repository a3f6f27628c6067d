/**
 * The watchdog only acts on live work: an operator's `dx-runner watchdog --once` looping every
 * second through a whole dx-batch wave must neither re-run a finished job (reviews change nothing
 * and used to look like no_op) nor restart one the wave owns.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WatchdogOutputSchema } from '@dx/core';
import { createBatchFixture, IMPLEMENT_OK, parseWave, REVIEW_OK, type BatchFixture } from '../helpers/batch.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
let fx: BatchFixture;
beforeEach(() => {
  sb = createSandbox();
  fx = createBatchFixture(sb, { max_parallel: 3 });
});
afterEach(async () => {
  await sb.cleanup();
});

describe('watchdog during a wave', () => {
  it('every item is approved and each implement and review job ran exactly once', async () => {
    // slow enough that the watchdog sees every job live, with the stall threshold far below a job's length
    fx.script(
      'default.implement',
      fx.recorded({ steps: [{ message: 'working' }, { sleep: 2500 }, ...IMPLEMENT_OK.steps] }),
    );
    fx.script(
      'default.review',
      fx.recorded({ steps: [{ message: 'reviewing' }, { sleep: 2500 }, ...REVIEW_OK.steps] }),
    );
    const ids = ['wd-a', 'wd-b', 'wd-c', 'wd-d'];
    const wave = sb.batch(['start', '--items', fx.items(ids), '--wave-id', 'w-watched', '--json'], {
      timeoutMs: 240_000,
    });
    let stop = false;
    const passes: Array<{ action: string; beads: string }> = [];
    const loop = (async () => {
      for (let n = 0; n < 200 && !stop; n++) {
        const r = await sb.dx(['watchdog', '--once', '--max-retries', '3', '--stall-minutes', '0.01', '--json']);
        for (const a of WatchdogOutputSchema.parse(JSON.parse(r.stdout)).passes[0].actions) passes.push(a);
        await new Promise((res) => setTimeout(res, 1000));
      }
    })();
    const r = await wave;
    stop = true;
    await loop;
    expect(r.code, r.stderr).toBe(0);
    const result = parseWave(r.stdout);
    expect(result.items.map((i) => [i.beads_id, i.status])).toEqual(ids.map((id) => [id, 'APPROVED']));
    for (const id of ids) {
      expect(
        fx
          .runs()
          .filter((x) => x[0] === id)
          .map((x) => x[1]),
      ).toEqual(['implement', 'review']);
    }
    // the watchdog saw the wave's jobs and left them to their owner; it never restarted or blocked one
    expect(passes.filter((a) => a.action === 'left_to_owner').length).toBeGreaterThan(0);
    expect(passes.filter((a) => a.action === 'restarted' || a.action === 'blocked')).toEqual([]);
  }, 300_000);
});
