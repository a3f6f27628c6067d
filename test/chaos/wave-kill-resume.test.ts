import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DoctorOutputSchema, readLedger, wavePaths } from '@dx/dx-batch';
import {
  createBatchFixture,
  IMPLEMENT_OK,
  killBackgroundBatches,
  parseWave,
  REVIEW_OK,
  spawnBatch,
  type BatchEnd,
  type BatchFixture,
} from '../helpers/batch.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';

/**
 * An orchestrator killed with SIGKILL at arbitrary moments of a wave (mid-start, mid-transition,
 * between a job's end and its verdict), then resumed, again and again: the wave must end as an
 * undisturbed one would. The kill times come from a seeded generator; the seed is printed so a
 * failing run can be replayed (DX_CHAOS_SEED).
 */

let sb: Sandbox;
let fx: BatchFixture;

beforeAll(() => {
  sb = createSandbox();
  fx = createBatchFixture(sb, { max_parallel: 3 });
});

afterAll(async () => {
  killBackgroundBatches();
  await sb.cleanup();
});

/** mulberry32: a small seeded generator, so a failing schedule can be run again. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Starts wave `waveId` over `ids` and kills its orchestrator after a random 100–1,000 ms, then
 * resumes it (or starts it again, when the kill came before the wave was written), until a run
 * ends by itself; at most 10 kills. Answers the last run's end and what was done.
 */
async function killAndResume(
  waveId: string,
  ids: string[],
  random: () => number,
): Promise<{ final: Pick<BatchEnd, 'code' | 'stdout' | 'stderr'>; kills: string[] }> {
  const start = ['start', '--items', fx.items(ids), '--wave-id', waveId, '--json'];
  const kills: string[] = [];
  let run = spawnBatch(sb, start);
  for (let kill = 0; kill < 10; kill++) {
    const delay = 100 + Math.floor(random() * 900);
    const ended = await Promise.race([run.done, new Promise<undefined>((r) => setTimeout(r, delay))]);
    if (ended) break;
    run.child.kill('SIGKILL');
    await run.done;
    kills.push(`killed after ${delay} ms`);
    const notYet = !fs.existsSync(wavePaths(path.join(sb.dir, 'batch'), waveId).state);
    run = spawnBatch(sb, notYet ? start : ['resume', '--wave-id', waveId, '--json']);
  }
  let final: Pick<BatchEnd, 'code' | 'stdout' | 'stderr'> = await run.done;
  // the last kill came after the wave had completed, before its orchestrator exited
  if (/is completed; nothing to resume/.test(final.stdout))
    final = await sb.batch(['status', '--wave-id', waveId, '--json']);
  return { final, kills };
}

describe('a wave killed at random moments', () => {
  // each run is recorded when the agent starts and again when it is about to finish
  const recordedBoth = (steps: unknown[]) => ({
    steps: [{ record_run: fx.runsLog }, { sleep: 150 }, ...steps, { record_run: fx.runsLog }],
  });
  const seeds = process.env.DX_CHAOS_SEED ? [Number(process.env.DX_CHAOS_SEED)] : [5, 6, 10];

  it.each(seeds)(
    'resumes to the end an undisturbed wave reaches, every item once (seed %i)',
    async (seed) => {
      fx.script('default.implement', recordedBoth(IMPLEMENT_OK.steps));
      fx.script('default.review', recordedBoth(REVIEW_OK.steps));
      const waveId = `w-chaos-${seed}`;
      const ids = [1, 2, 3, 4, 5, 6].map((n) => `s${seed}-i${n}`);
      const { final, kills } = await killAndResume(waveId, ids, seeded(seed));

      const paths = wavePaths(path.join(sb.dir, 'batch'), waveId);
      const ledgers = Object.fromEntries(ids.map((id) => [id, readLedger(paths, id)]));
      const runs = fx.runs().filter((r) => ids.includes(r[0]));
      const story = [
        `seed ${seed}: ${kills.join(', ')}`,
        ...ids.flatMap((id) =>
          ledgers[id].map(
            (e) =>
              `${id} ${e.event} ${JSON.stringify({ ...e, event: undefined, beads_id: undefined, at: e.at.slice(11, 23) })}`,
          ),
        ),
        ...runs.map((r) => r.join(' ')),
        final.stdout.slice(0, 2000),
        final.stderr,
      ].join('\n');
      expect(final.code, story).toBe(0);
      expect(
        parseWave(final.stdout).items.map((i) => i.status),
        story,
      ).toEqual(ids.map(() => 'APPROVED'));
      for (const id of ids) {
        // one line when the agent starts, one when it finishes: each phase ran once, to its end
        const mine = runs.filter((r) => r[0] === id).map((r) => `${r[1]} ${r[2]}`);
        expect(mine.sort(), story).toEqual(['implement 1', 'implement 1', 'review 2', 'review 2']);
        // the undisturbed story; a resume may add only that it relaunched a start the kill cut off
        const events = ledgers[id].filter((e) => e.event !== 'job_relaunched').map((e) => `${e.event} ${e.attempt}`);
        expect(events, story).toEqual([
          'attempt_started 1',
          'job_started 1',
          'implement_completed 1',
          'attempt_started 2',
          'job_started 2',
          'review_approved 2',
        ]);
      }
      const doctor = await sb.batch(['doctor', '--wave-id', waveId, '--json']);
      expect(DoctorOutputSchema.parse(JSON.parse(doctor.stdout)).issues, story).toEqual([]);
    },
    120_000,
  );
});
