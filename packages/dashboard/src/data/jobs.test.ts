import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CappedLog, Redactor, serializeKv } from '@dx/core';
import { beadsOfStateFile, JobIndex } from './jobs.js';

describe('which job a changed state file belongs to', () => {
  it('maps every kind of job file, rotations and temporaries to its beads id', () => {
    expect(beadsOfStateFile('bd-x.meta')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.heartbeat')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.outcome.3')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.watcher.log')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.log.2')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.heartbeat.4242.7.tmp')).toBe('bd-x');
    expect(beadsOfStateFile('bd-a.b.outcome')).toBe('bd-a.b');
  });

  it('ignores files that are not a job file', () => {
    expect(beadsOfStateFile('.lock')).toBeUndefined();
    expect(beadsOfStateFile('notes.txt')).toBeUndefined();
    expect(beadsOfStateFile('.meta')).toBeUndefined();
  });
});

describe('the cost a wave attempt is given', () => {
  it('is the cost of that run only: an earlier run of the same job shows none', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-job-index-'));
    try {
      fs.mkdirSync(path.join(root, 'fake'), { mode: 0o700 });
      const base = {
        beads: 'bd-w',
        provider: 'fake',
        run_instance: 'i-2',
        run_id: 'r',
        host: 'h',
        cwd: '/w',
        worktree: '/w',
      };
      fs.writeFileSync(
        path.join(root, 'fake', 'bd-w.meta'),
        serializeKv({
          ...base,
          started_at: '2026-11-29T01:00:00.000Z',
          retries: 1,
          prompt_copy: '/p',
          runtime_module: 'x',
          max_runtime_minutes: 60,
          no_mutation_timeout_minutes: 30,
          stall_minutes: 20,
          startup_grace_sec: 300,
        }),
      );
      fs.writeFileSync(
        path.join(root, 'fake', 'bd-w.outcome'),
        serializeKv({
          ...base,
          exit_code: 0,
          state: 'success',
          reason_code: 'process_exit',
          completed_at: '2026-11-29T01:10:00.000Z',
          duration_sec: 600,
          retries: 1,
          selected_model: 'm',
          fallback_reason: 'none',
          provider_switch_from: 'none',
          cost_usd: 0.25,
        }),
      );
      const index = new JobIndex(root, new Redactor([]));
      index.loadAll();
      expect(index.costOf('bd-w', 'i-2')).toBe(0.25);
      expect(index.costOf('bd-w', 'i-1')).toBeNull();
      expect(index.costOf('bd-w', null)).toBeNull();
      expect(index.costOf('bd-other', 'i-2')).toBeNull();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("a job's page", () => {
  it("shows a running job's newest log lines when its log has grown past the head max_log_mb keeps", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-job-index-'));
    try {
      fs.mkdirSync(path.join(root, 'fake'), { mode: 0o700 });
      fs.writeFileSync(
        path.join(root, 'fake', 'bd-flood.meta'),
        serializeKv({
          beads: 'bd-flood',
          provider: 'fake',
          run_instance: 'i-1',
          run_id: 'r',
          host: 'h',
          cwd: '/w',
          worktree: '/w',
          started_at: '2026-11-29T01:00:00.000Z',
          retries: 0,
          prompt_copy: '/p',
          runtime_module: 'x',
          max_runtime_minutes: 60,
          no_mutation_timeout_minutes: 30,
          stall_minutes: 20,
          startup_grace_sec: 300,
        }),
      );
      // the watcher's log of an agent printing a lot: the head is kept, the newest lines are in the tail
      const log = new CappedLog(path.join(root, 'fake', 'bd-flood.log'), { capBytes: 50_000, headBytes: 2000 });
      for (let n = 0; n < 1000; n++) log.write(`{"type":"message","n":${n}}\n`);
      log.flush();
      const detail = new JobIndex(root, new Redactor([])).detail('bd-flood');
      expect(detail?.log_tail.at(-1)).toBe('{"type":"message","n":999}');
      expect(detail?.log_tail).toHaveLength(200);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
