import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobPaths } from '../state/layout.js';
import { sampleMeta } from '../testing/records.js';
import { writeRecord } from './record-io.js';
import { jobStatus } from './view.js';

/**
 * `status` reads of a finished job only its outcome and meta, unless the job is among the `recent`
 * shown: what it lists must not change for it. Real files, no process (watchers are long gone).
 */
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-view-'));
fs.chmodSync(root, 0o700);
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-29T06:00:00Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function job(
  beads: string,
  opts: { instance?: string; startedMin: number; outcome?: { instance?: string; endMin: number } },
) {
  const paths = jobPaths(root, 'fake', beads);
  fs.mkdirSync(path.dirname(paths.meta), { recursive: true, mode: 0o700 });
  const instance = opts.instance ?? `run-${beads}`;
  writeRecord(
    paths.meta,
    'meta',
    sampleMeta(paths, root, { run_instance: instance, started_at: iso(opts.startedMin) }),
  );
  if (opts.outcome)
    writeRecord(paths.outcome, 'outcome', {
      beads,
      provider: 'fake',
      run_instance: opts.outcome.instance ?? instance,
      run_id: 'r1',
      exit_code: 0,
      state: 'success',
      reason_code: 'process_exit',
      completed_at: iso(opts.outcome.endMin),
      duration_sec: 60,
      retries: 0,
      selected_model: 'm1',
      fallback_reason: 'none',
      host: 'h',
      cwd: root,
      worktree: root,
      provider_switch_from: [],
      mutations: 1,
      changed_files: [],
      commits: [],
    });
  return paths;
}

describe('jobStatus', () => {
  job('bd-done-a', { startedMin: 0, outcome: { endMin: 10 } });
  job('bd-done-b', { startedMin: 1, outcome: { endMin: 30 } });
  job('bd-done-c', { startedMin: 2, outcome: { endMin: 20 } });
  job('bd-no-outcome', { startedMin: 5 });
  // restarted: the outcome on disk is the previous instance's, so this job has not ended
  job('bd-restarted', { startedMin: 3, instance: 'run-2', outcome: { instance: 'run-1', endMin: 4 } });
  const garbled = job('bd-garbled', { startedMin: 4, outcome: { endMin: 40 } });
  fs.writeFileSync(garbled.outcome, 'exit_code=zero\nstate=???\n');

  it('lists the jobs that have not ended (oldest first) and counts the finished ones', () => {
    const { live, recent, finished } = jobStatus(root);
    expect(live.map((j) => j.beads)).toEqual(['bd-restarted', 'bd-garbled', 'bd-no-outcome']);
    expect(live.every((j) => j.outcome_state === null)).toBe(true);
    expect(recent).toEqual([]);
    expect(finished).toBe(3);
  });

  it('adds the `recent` latest finished jobs, newest first, with their full views', () => {
    const { recent, finished } = jobStatus(root, { recent: 2 });
    expect(recent.map((j) => [j.beads, j.completed_at, j.outcome_state])).toEqual([
      ['bd-done-b', iso(30), 'success'],
      ['bd-done-c', iso(20), 'success'],
    ]);
    expect(finished).toBe(3);
  });

  it('a garbled outcome is shown as what it is, never hidden among the finished', () => {
    const row = jobStatus(root).live.find((j) => j.beads === 'bd-garbled');
    expect(row?.reason_code).toMatch(/corrupt|unreadable/);
  });
});
