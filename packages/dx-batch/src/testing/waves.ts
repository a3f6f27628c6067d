import { newItem, type WaveState } from '../waves/state.js';

/**
 * Test-only (not built into dist): a running wave of `beadsIds`, every field the state requires
 * filled in as `dx-batch start` would; a test changes only what it is about.
 */
export function sampleWave(waveId: string, beadsIds: readonly string[]): WaveState {
  const now = new Date().toISOString();
  return {
    schema_version: 1,
    wave_id: waveId,
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
      max_tokens: null,
    },
    preflight: [],
    hosts: [],
    lost_jobs: [],
    token: 1,
    items: beadsIds.map(newItem),
    stats: {},
  };
}
