import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeKv } from '@dx/core';
import { ProviderStats } from './providers.js';

const NOW = Date.parse('2026-11-29T12:00:00.000Z');
const HOUR = 3600_000;
let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-provider-stats-'));
  fs.mkdirSync(path.join(root, 'opencode'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function outcome(name: string, hoursAgo: number, fields: Record<string, string | number>) {
  fs.writeFileSync(
    path.join(root, 'opencode', name),
    serializeKv({
      beads: name.split('.')[0],
      provider: 'opencode',
      run_id: 'r',
      exit_code: 0,
      state: 'success',
      reason_code: 'process_exit',
      completed_at: new Date(NOW - hoursAgo * HOUR).toISOString(),
      duration_sec: 60,
      retries: 0,
      selected_model: 'm',
      fallback_reason: 'none',
      run_instance: `i-${name}`,
      host: 'h',
      cwd: '/w',
      worktree: '/w',
      provider_switch_from: 'none',
      ...fields,
    }),
  );
}

describe('provider figures', () => {
  it('count every finished run (rotated outcomes too) by verdict over 24 h and 7 days', () => {
    outcome('bd-a.outcome', 1, { tokens_input: 100, tokens_output: 10, cost_usd: 0.5, duration_sec: 30 });
    outcome('bd-a.outcome.1', 2, {
      state: 'failed',
      exit_code: 1,
      reason_code: 'opencode_rate_limited',
      failure_class: 'rate_limited',
    });
    outcome('bd-b.outcome', 30, { state: 'no_op', duration_sec: 90 });
    outcome('bd-c.outcome', 50, { state: 'killed', exit_code: 143, reason_code: 'manual_stop' });
    outcome('bd-old.outcome', 24 * 9, {});
    fs.writeFileSync(path.join(root, 'opencode', 'bd-z.outcome'), 'garbage without equals\n');
    const [p] = new ProviderStats(root).compute(NOW).providers;
    expect(p.provider).toBe('opencode');
    expect(p.last_24h).toMatchObject({ jobs: 2, success: 1, rate_limited: 1, no_op: 0, error: 0, cost_usd: 0.5 });
    expect(p.last_7d).toMatchObject({ jobs: 4, success: 1, rate_limited: 1, no_op: 1, error: 1, tokens_input: 100 });
    expect(p.last_7d.median_duration_sec).toBe(60);
    expect(p.daily).toHaveLength(7);
    expect(p.daily.at(-1)).toMatchObject({ day: '2026-11-29', success: 1, rate_limited: 1 });
  });

  it('a provider that reports no cost shows none, not $0', () => {
    outcome('bd-a.outcome', 1, {});
    expect(new ProviderStats(root).compute(NOW).providers[0].last_24h.cost_usd).toBeNull();
  });

  it('reads a changed outcome again (size or mtime), not a remembered one', () => {
    const stats = new ProviderStats(root);
    outcome('bd-a.outcome', 1, {});
    expect(stats.compute(NOW).providers[0].last_24h.success).toBe(1);
    outcome('bd-a.outcome', 1, { state: 'failed', exit_code: 1, reason_code: 'crashed_after_long_run' });
    expect(stats.compute(NOW).providers[0].last_24h).toMatchObject({ success: 0, error: 1 });
  });
});
