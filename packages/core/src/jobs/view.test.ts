import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { identify } from '../process/identity.js';
import { jobPaths } from '../state/layout.js';
import { sampleMeta } from '../testing/records.js';
import { writeRecord } from './record-io.js';
import { jobStatus, jobsWithProcesses } from './view.js';

/**
 * `status` reads of a finished job only its outcome (and its meta while its pid file is there),
 * unless the job is among the `recent` shown: what it lists must not change for it. The count of
 * live job processes reads no finished job at all. Real files; one real process plays a running
 * job's watcher and agent.
 */
// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-view-'));
  fs.chmodSync(root, 0o700);
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const T0 = Date.parse('2026-11-29T06:00:00Z');
const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function job(
  beads: string,
  opts: { instance?: string; startedMin: number; outcome?: { instance?: string; endMin: number } },
  at = root,
) {
  const paths = jobPaths(at, 'fake', beads);
  fs.mkdirSync(path.dirname(paths.meta), { recursive: true, mode: 0o700 });
  const instance = opts.instance ?? `run-${beads}`;
  writeRecord(paths.meta, 'meta', sampleMeta(paths, at, { run_instance: instance, started_at: iso(opts.startedMin) }));
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
      cwd: at,
      worktree: at,
      provider_switch_from: [],
      mutations: 1,
      changed_files: [],
      commits: [],
    });
  return paths;
}

describe('jobStatus', () => {
  beforeAll(() => {
    job('bd-done-a', { startedMin: 0, outcome: { endMin: 10 } });
    job('bd-done-b', { startedMin: 1, outcome: { endMin: 30 } });
    job('bd-done-c', { startedMin: 2, outcome: { endMin: 20 } });
    job('bd-no-outcome', { startedMin: 5 });
    // restarted: the outcome on disk is the previous instance's and the new one's agent was spawned
    // (its pid file is there), so this job has not ended
    const restarted = job('bd-restarted', {
      startedMin: 3,
      instance: 'run-2',
      outcome: { instance: 'run-1', endMin: 4 },
    });
    fs.writeFileSync(restarted.pid, '999998\n');
    const garbled = job('bd-garbled', { startedMin: 4, outcome: { endMin: 40 } });
    fs.writeFileSync(garbled.outcome, 'exit_code=zero\nstate=???\n');
  });

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

  it('of a finished job it does not show, reads the outcome alone; the meta too while a pid file is there', () => {
    const opened = filesRead(() => jobStatus(root, { recent: 1 }));
    expect(opened.filter((f) => /bd-done-[ac]\./.test(f)).sort()).toEqual([
      jobPaths(root, 'fake', 'bd-done-a').outcome,
      jobPaths(root, 'fake', 'bd-done-c').outcome,
    ]);
    expect(opened).toContain(jobPaths(root, 'fake', 'bd-restarted').meta);
  });

  it('a shown job whose meta was garbled after it ended is listed as what it is, and the list stays whole', () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-view-garbled-meta-'));
    try {
      fs.chmodSync(other, 0o700);
      job('bd-old', { startedMin: 0, outcome: { endMin: 10 } }, other);
      job('bd-mid', { startedMin: 1, outcome: { endMin: 20 } }, other);
      const garbled = job('bd-new', { startedMin: 2, outcome: { endMin: 30 } }, other);
      fs.writeFileSync(garbled.meta, 'beads=bd-new\nstarted_at=yesterday\n');
      const { live, recent, finished } = jobStatus(other, { recent: 2 });
      expect(live.map((j) => [j.beads, j.reason_code])).toEqual([['bd-new', 'state_file_corrupt']]);
      expect(recent.map((j) => j.beads)).toEqual(['bd-mid', 'bd-old']);
      expect(finished).toBe(2);
    } finally {
      fs.rmSync(other, { recursive: true, force: true });
    }
  });
});

/** The files a call opened (by either way of reading one). */
function filesRead(call: () => unknown): string[] {
  const open = vi.spyOn(fs, 'openSync');
  const read = vi.spyOn(fs, 'readFileSync');
  try {
    call();
    return [...open.mock.calls, ...read.mock.calls].map(([file]) => file).filter((f) => typeof f === 'string');
  } finally {
    open.mockRestore();
    read.mockRestore();
  }
}

describe('jobsWithProcesses', () => {
  // a real process stands in for one job's watcher and agent: liveness is proven by pid + start time
  let sleeper: ReturnType<typeof spawn>;
  let running: ReturnType<typeof job>;
  beforeAll(() => {
    sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    running = job('bd-running', { startedMin: 6 });
    // a watcher that died without an outcome: its pid file names a process that is gone
    const crashed = job('bd-crashed', { startedMin: 7 });
    fs.writeFileSync(crashed.pid, '999999\n');
  });
  afterAll(() => {
    sleeper.kill('SIGKILL');
  });

  it('lists the jobs whose pid file names a live process, and reads no other job', async () => {
    await vi.waitFor(() => expect(identify(sleeper.pid!)).toBeDefined());
    const me = identify(sleeper.pid!)!;
    writeRecord(
      running.meta,
      'meta',
      sampleMeta(running, root, {
        run_instance: 'run-bd-running',
        started_at: iso(6),
        watcher_pid: me.pid,
        watcher_start_ticks: me.startTicks,
      }),
    );
    writeRecord(running.heartbeat, 'heartbeat', {
      run_instance: 'run-bd-running',
      watcher_pid: me.pid,
      watcher_start_ticks: me.startTicks,
      agent_pid: me.pid,
      agent_start_ticks: me.startTicks,
      launched_at: iso(6),
      updated_at: iso(6),
      events: 1,
      tool_calls: 0,
      messages: 1,
      provider_retries: 0,
      writes_refused: 0,
      mutations: 0,
    });
    fs.writeFileSync(running.pid, `${me.pid}\n`);
    let rows: ReturnType<typeof jobsWithProcesses> = [];
    const opened = filesRead(() => (rows = jobsWithProcesses(root)));
    expect(rows.map((j) => [j.beads, j.pid, j.watcher_pid])).toEqual([['bd-running', me.pid, me.pid]]);
    // the spy sees the reads of the jobs with pid files, and nothing of the finished or pid-less ones
    expect(opened.some((f) => f.endsWith('bd-running.heartbeat'))).toBe(true);
    expect(opened.filter((f) => /bd-(done|garbled|no-outcome)/.test(f))).toEqual([]);
    // status lists the crashed and the garbled jobs too: it reads every job to find them
    expect(jobStatus(root).live.map((j) => j.beads)).toEqual(
      expect.arrayContaining(['bd-running', 'bd-crashed', 'bd-garbled']),
    );
  });
});
