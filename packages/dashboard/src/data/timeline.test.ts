import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobPaths, Redactor, type JobSnapshot } from '@dx/core';
import { jobTimeline } from './timeline.js';

const SECRET = 'sk-timeline-SECRET-0123456789abcdef';
let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-timeline-'));
  fs.mkdirSync(path.join(dir, 'opencode'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function snapshot(extra: Partial<JobSnapshot>): JobSnapshot {
  return {
    paths: jobPaths(dir, 'opencode', 'bd-t'),
    watcherAlive: true,
    agentAlive: true,
    otherProviders: [],
    meta: {
      beads: 'bd-t',
      provider: 'opencode',
      run_instance: 'run-2',
      run_id: 'r',
      started_at: '2026-11-29T01:00:00.000Z',
      retries: 1,
      host: 'h',
      cwd: '/w',
      worktree: '/w',
      prompt_copy: '/p',
      runtime_module: 'x',
      max_runtime_minutes: 60,
      no_mutation_timeout_minutes: 30,
      stall_minutes: 20,
      startup_grace_sec: 300,
      selected_model: 'glm-5',
    },
    ...extra,
  };
}

describe('a job timeline', () => {
  it('orders earlier runs, start, watcher events, progress and a rate-limit wait, all redacted', () => {
    const job = snapshot({
      heartbeat: {
        run_instance: 'run-2',
        watcher_pid: 1,
        watcher_start_ticks: 1,
        launched_at: '2026-11-29T01:00:01.000Z',
        updated_at: '2026-11-29T01:05:00.000Z',
        events: 7,
        tool_calls: 2,
        messages: 3,
        provider_retries: 1,
        writes_refused: 0,
        mutations: 0,
        last_event_at: '2026-11-29T01:04:00.000Z',
        last_event_kind: 'retry',
        last_event_detail: `429 for key ${SECRET}`,
        rate_limited_until: '2026-11-29T01:10:00.000Z',
        rate_limit_detail: 'HTTP 429, retry-after 360',
      },
    });
    fs.writeFileSync(
      job.paths.watcherLog,
      [
        JSON.stringify({
          level: 30,
          time: '2026-11-29T01:00:01.500Z',
          msg: 'agent launched',
          agent_pid: 42,
          beads: 'bd-t',
        }),
        'a plain line without a time',
        JSON.stringify({
          level: 40,
          time: '2026-11-29T01:03:00.000Z',
          msg: 'termination requested',
          signal: 'SIGTERM',
        }),
      ].join('\n') + '\n',
    );
    const history = [
      {
        provider: 'opencode',
        run_instance: 'run-1',
        state: 'failed' as const,
        reason_code: 'stalled',
        exit_code: 1,
        started_at: '2026-11-29T00:00:00.000Z',
        completed_at: '2026-11-29T00:30:00.000Z',
        duration_sec: 1800,
        selected_model: 'glm-5',
      },
    ];
    const events = jobTimeline(job, history, new Redactor([SECRET]));
    expect(events.map((e) => e.kind)).toEqual([
      'start',
      'restart',
      'start',
      'launch',
      'termination',
      'progress',
      'rate_limit',
    ]);
    expect(events[2].text).toContain('(retry 1)');
    expect(events[3].text).toContain('agent_pid=42');
    expect(events.find((e) => e.kind === 'rate_limit')?.text).toContain('waiting until 2026-11-29T01:10:00.000Z');
    expect(JSON.stringify(events)).not.toContain(SECRET);
    expect(JSON.stringify(events)).toContain('[REDACTED]');
  });

  it('ends with the outcome and drops live-only progress once the job ended', () => {
    const job = snapshot({
      outcome: {
        beads: 'bd-t',
        provider: 'opencode',
        run_id: 'r',
        exit_code: 0,
        state: 'success',
        reason_code: 'process_exit',
        completed_at: '2026-11-29T01:20:00.000Z',
        duration_sec: 1200,
        retries: 1,
        selected_model: 'glm-5',
        fallback_reason: 'none',
        run_instance: 'run-2',
        host: 'h',
        cwd: '/w',
        worktree: '/w',
        provider_switch_from: [],
      },
    });
    const events = jobTimeline(job, [], new Redactor([]));
    expect(events.at(-1)).toMatchObject({ kind: 'end', at: '2026-11-29T01:20:00.000Z' });
    expect(events.at(-1)?.text).toContain('ended success (process_exit, exit 0) after 1200s');
  });
});
