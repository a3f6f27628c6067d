import { describe, expect, it } from 'vitest';
import { newItem, type WaveState } from '../waves/state.js';
import { createView } from './view.js';

function wave(): WaveState {
  const now = new Date().toISOString();
  const items = [newItem('bd-a'), newItem('bd-b')];
  Object.assign(items[0], {
    status: 'IMPLEMENTING',
    phase: 'implement',
    attempt: 1,
    provider: 'opencode',
    started_at: new Date(Date.now() - 65_000).toISOString(),
  });
  return {
    schema_version: 1,
    wave_id: 'wave-1',
    status: 'running',
    reason_code: 'wave_running',
    error: null,
    created_at: now,
    updated_at: now,
    started_at: now,
    completed_at: null,
    config: {
      max_parallel: 3,
      max_revisions: 2,
      retry_chain: ['opencode'],
      review_chain: ['opencode'],
      review: true,
      exec_process_cap: 60,
      poll_interval_sec: 5,
      lease_ttl_minutes: 10,
      worktree_base: '/tmp/agents',
      prompt_file: null,
      policy_file: null,
      hosts: ['local'],
    },
    preflight: [],
    hosts: [],
    lost_jobs: [],
    token: 1,
    items,
    stats: { total: 2, approved: 0, blocked: 0, implementing: 1, reviewing: 0 },
  };
}

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, out: { isTTY, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream };
}

describe('wave progress view', () => {
  it('redraws a table in place on a terminal: item, state, phase, attempt, provider, elapsed', () => {
    const { chunks, out } = stream(true);
    const view = createView(out, 'auto');
    view.render(wave());
    view.event(wave(), 'bd-a PENDING → IMPLEMENTING via opencode');
    expect(chunks[0]).toMatch(/wave wave-1: running .*approved 0\/2/);
    expect(chunks[0]).toMatch(/bd-a\s+IMPLEMENTING\s+implement\s+1\s+opencode\s+1m ?0?5s/);
    // the second frame moves the cursor up over the first and clears it
    // eslint-disable-next-line no-control-regex -- the redraw is made of ESC sequences
    expect(chunks[1]).toMatch(/^\u001b\[\d+F\u001b\[J$/);
    expect(chunks[2]).toContain('bd-a PENDING → IMPLEMENTING via opencode');
  });

  it('prints one timestamped line per event when not a terminal, and nothing when silent', () => {
    const { chunks, out } = stream(false);
    const view = createView(out, 'auto');
    view.render(wave());
    view.event(wave(), 'bd-b PENDING → IMPLEMENTING via opencode');
    expect(chunks).toEqual([
      expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z bd-b PENDING → IMPLEMENTING via opencode\n$/),
    ]);
    const silent = stream(true);
    createView(silent.out, 'silent').event(wave(), 'x');
    expect(silent.chunks).toEqual([]);
  });
});
