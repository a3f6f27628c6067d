import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobLockName, jobPaths, type JobPaths } from '../state/layout.js';
import { acquireLock } from '../state/lock.js';
import { sampleMeta } from '../testing/records.js';
import { writeRecord } from './record-io.js';
import { findLatestJob } from './store.js';
import { jobStatus, toJobView } from './view.js';
import { waitForJob } from './wait.js';

/**
 * A job a restart replaces: the replaced instance's outcome (`restarted`) is on record for the
 * moment between the stop and the next instance's launch, while the restart holds the job's lock;
 * `check`, `status` and `wait` read the job as launching then. Real files and the real lock; no
 * process plays the job (its instances have ended).
 */
// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-wait-'));
  fs.chmodSync(root, 0o700);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** One ended instance of the job: its meta and its outcome. */
function instance(beads: string, runInstance: string, reason: string, retries: number): JobPaths {
  const paths = jobPaths(root, 'fake', beads);
  fs.mkdirSync(path.dirname(paths.meta), { recursive: true, mode: 0o700 });
  const now = new Date().toISOString();
  writeRecord(paths.meta, 'meta', sampleMeta(paths, root, { run_instance: runInstance, started_at: now, retries }));
  writeRecord(paths.outcome, 'outcome', {
    beads,
    provider: 'fake',
    run_instance: runInstance,
    run_id: 'r1',
    exit_code: 143,
    state: 'killed',
    reason_code: reason,
    completed_at: now,
    duration_sec: 1,
    retries,
    selected_model: 'm1',
    fallback_reason: 'none',
    host: 'h',
    cwd: root,
    worktree: root,
    provider_switch_from: [],
    mutations: 0,
    changed_files: [],
    commits: [],
  });
  return paths;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a job a restart is relaunching', () => {
  it("reads as launching (restart_in_progress), not as the replaced instance's end", async () => {
    instance('bd-view', 'run-1', 'restarted', 0);
    const lock = await acquireLock(root, jobLockName('bd-view'), 2000);
    try {
      expect(toJobView(findLatestJob(root, 'bd-view')!)).toMatchObject({
        state: 'launching',
        reason_code: 'restart_in_progress',
        next_action: 'wait_for_startup',
        outcome_state: null,
        exit_code: null,
      });
      expect(jobStatus(root).live.map((v) => [v.beads, v.state])).toEqual([['bd-view', 'launching']]);
    } finally {
      lock.release();
    }
    expect(toJobView(findLatestJob(root, 'bd-view')!)).toMatchObject({
      state: 'exited_err',
      reason_code: 'restarted',
      outcome_state: 'killed',
    });
    expect(jobStatus(root)).toMatchObject({ live: [], finished: 1 });
  });
});

describe('wait across a restart', () => {
  it('keeps waiting while the restart holds the lock, and ends with the next instance', async () => {
    const paths = instance('bd-next', 'run-1', 'restarted', 0);
    const lock = await acquireLock(root, jobLockName('bd-next'), 2000);
    const waited = waitForJob(root, 'bd-next', { pollMs: 50, timeoutMs: 10_000 });
    await sleep(300);
    // the restart rotates the replaced outcome and launches the next instance, which then ends
    fs.renameSync(paths.outcome, `${paths.outcome}.1`);
    instance('bd-next', 'run-2', 'manual_stop', 1);
    lock.release();
    const result = await waited;
    expect(result.timedOut).toBe(false);
    expect(result.view).toMatchObject({ run_instance: 'run-2', reason_code: 'manual_stop', retries: 1 });
  });

  it('a restart that ended without a next instance leaves the replaced one as the end', async () => {
    instance('bd-refused', 'run-1', 'restarted', 0);
    const lock = await acquireLock(root, jobLockName('bd-refused'), 2000);
    const waited = waitForJob(root, 'bd-refused', { pollMs: 50, timeoutMs: 10_000 });
    await sleep(300);
    lock.release();
    const result = await waited;
    expect(result.timedOut).toBe(false);
    expect(result.view).toMatchObject({ run_instance: 'run-1', reason_code: 'restarted', state: 'exited_err' });
  });

  it('with no restart under way, a replaced instance is the end at once', async () => {
    instance('bd-left', 'run-1', 'restarted', 0);
    const result = await waitForJob(root, 'bd-left', { pollMs: 50, timeoutMs: 10_000 });
    expect(result).toMatchObject({ timedOut: false, waitedMs: 0 });
    expect(result.view.reason_code).toBe('restarted');
  });
});
