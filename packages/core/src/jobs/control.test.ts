import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobPaths } from '../state/layout.js';
import { finalizeJob, lockJob, stopJob } from './control.js';
import { JobEndEvents } from './file-events.js';
import { sampleMeta } from '../testing/records.js';
import { readRecord, writeRecord } from './record-io.js';
import { findLatestJob } from './store.js';
import { toJobView } from './view.js';

/**
 * The control commands on jobs whose watcher is gone (no process is involved, so nothing is
 * signalled): the outcome is written once, from what the job recorded, and never replaced.
 */
// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-control-'));
  fs.chmodSync(root, 0o700);
  env = { ...process.env, DX_RUNNER_STATE_DIR: root };
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let env: NodeJS.ProcessEnv;

function ghostJob(beads: string, provider = 'fake'): void {
  const paths = jobPaths(root, provider, beads);
  fs.mkdirSync(path.dirname(paths.meta), { recursive: true, mode: 0o700 });
  const started = new Date(Date.now() - 90_000).toISOString();
  writeRecord(paths.meta, 'meta', sampleMeta(paths, root, { started_at: started, selected_model: 'm1' }));
  writeRecord(paths.heartbeat, 'heartbeat', {
    run_instance: `run-${beads}`,
    watcher_pid: 999_999,
    watcher_start_ticks: 12345,
    launched_at: started,
    updated_at: started,
    events: 7,
    tool_calls: 3,
    messages: 2,
    provider_retries: 1,
    writes_refused: 0,
    mutations: 2,
  });
}

describe('control of a job whose watcher is gone', () => {
  it('finalize writes the outcome from the recorded progress, once', async () => {
    ghostJob('bd-ghost');
    const r = await finalizeJob(root, 'bd-ghost', 'operator_gave_up', 1, env, { noSignal: true });
    expect(r).toMatchObject({
      finalized: true,
      reason_code: 'operator_gave_up',
      exit_code: 1,
      outcome_state: 'failed',
    });
    const outcome = readRecord(jobPaths(root, 'fake', 'bd-ghost').outcome, 'outcome');
    expect(outcome).toMatchObject({
      state: 'failed',
      reason_code: 'operator_gave_up',
      mutations: 2,
      events: 7,
      tool_calls: 3,
      selected_model: 'm1',
      finalized_by: 'finalize',
    });
    expect(toJobView(findLatestJob(root, 'bd-ghost')!).state).toBe('exited_err');

    // a second finalize does not replace the first outcome
    const again = await finalizeJob(root, 'bd-ghost', 'second_thoughts', 0, env, { noSignal: true });
    expect(again.reason_code).toBe('operator_gave_up');
    expect(readRecord(jobPaths(root, 'fake', 'bd-ghost').outcome, 'outcome')?.reason_code).toBe('operator_gave_up');
  });

  it('stop of an ended job is refused with job_not_running, and an unknown job with job_not_found', async () => {
    await expect(stopJob(root, 'bd-ghost', env)).rejects.toMatchObject({ reasonCode: 'job_not_running' });
    await expect(stopJob(root, 'bd-nobody', env)).rejects.toMatchObject({ reasonCode: 'job_not_found' });
  });
});

describe('the end of a job as a file event', () => {
  it('announces the job whose outcome is published, and nothing for its other files', async () => {
    ghostJob('bd-ends');
    ghostJob('bd-still-running');
    const ended: (string | null)[] = [];
    const events = new JobEndEvents(root, (beads) => ended.push(beads));
    try {
      fs.writeFileSync(jobPaths(root, 'fake', 'bd-still-running').heartbeat, '{}');
      // a provider directory that appears later is taken up by refresh()
      ghostJob('bd-elsewhere', 'fake-alt');
      events.refresh();
      await finalizeJob(root, 'bd-elsewhere', 'operator_gave_up', 1, env, { noSignal: true });
      await finalizeJob(root, 'bd-ends', 'operator_gave_up', 1, env, { noSignal: true });
      for (let i = 0; i < 100 && !(ended.includes('bd-ends') && ended.includes('bd-elsewhere')); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(ended).toContain('bd-ends');
      expect(ended).toContain('bd-elsewhere');
      expect(ended).not.toContain('bd-still-running');
    } finally {
      events.close();
    }
  });
});

describe('a launch that was never acknowledged', () => {
  function unacknowledged(beads: string): void {
    const paths = jobPaths(root, 'fake', beads);
    // what `start` writes before its watcher answers: a meta without the watcher's pid
    writeRecord(paths.meta, 'meta', sampleMeta(paths, root, { started_at: new Date().toISOString() }));
  }
  const view = (beads: string) => toJobView(findLatestJob(root, beads)!);

  it('is launching while its start holds the job, and launch_incomplete at once when that start is gone', async () => {
    unacknowledged('bd-launching');
    const lock = await lockJob(root, 'bd-launching');
    try {
      expect(view('bd-launching')).toMatchObject({ state: 'launching', reason_code: 'launch_in_progress' });
    } finally {
      lock.release();
    }
    // the start was killed: its lock is gone (or left by a dead process), the watcher never answered
    expect(view('bd-launching')).toMatchObject({ state: 'exited_err', reason_code: 'launch_incomplete' });
    unacknowledged('bd-killed-start');
    fs.writeFileSync(path.join(root, '.locks', 'beads-bd-killed-start.lock'), 'pid=999999\nstart_ticks=1\n');
    expect(view('bd-killed-start')).toMatchObject({ state: 'exited_err', reason_code: 'launch_incomplete' });
  });
});
