import fs from 'node:fs';
import { z } from '@dx/core/zod';
import { DxError, ExitCode } from '@dx/core';
import { appendTransition, readWaveData, writeSnapshot } from './journal.js';
import type { WavePaths } from './paths.js';

/** The item statuses (what `status`, reports and scripts show). */
export const ITEM_STATUSES = [
  'PENDING',
  'IMPLEMENTING',
  'REVIEWING',
  'REVISION_REQUIRED',
  'APPROVED',
  'BLOCKED',
  'CANCELLED',
] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];
/**
 * The states of the item's state machine (orchestrator/machine.ts): the statuses, with queued
 * work named on its own (a job waiting for a slot or for its next provider).
 */
export const ITEM_STATES = [
  'PENDING',
  'IMPLEMENT_QUEUED',
  'IMPLEMENTING',
  'REVIEW_QUEUED',
  'REVIEWING',
  'REVISION_REQUIRED',
  'APPROVED',
  'BLOCKED',
  'CANCELLED',
] as const;
export type ItemState = (typeof ITEM_STATES)[number];
export const TERMINAL_ITEM_STATES: readonly ItemState[] = ['APPROVED', 'BLOCKED', 'CANCELLED'];

export const WAVE_STATES = ['pending', 'running', 'paused', 'completed', 'failed', 'cancelled'] as const;
export type WaveStatus = (typeof WAVE_STATES)[number];

export const AttemptSchema = z.object({
  attempt: z.number().int().positive(),
  phase: z.enum(['implement', 'review']),
  provider: z.string(),
  /** The fleet host the attempt's job ran on (`local`: this machine). */
  host: z.string().default('local'),
  job_beads: z.string(),
  run_instance: z.string().nullable(),
  started_at: z.string(),
  completed_at: z.string().nullable(),
  /** What the attempt ended with: the dx-runner state, or a dx-batch verdict on it. */
  result: z.string().nullable(),
  reason_code: z.string().nullable(),
  verdict: z.string().nullable(),
  duration_sec: z.number().int().nullable(),
  tokens_input: z.number().int().nullable(),
  tokens_output: z.number().int().nullable(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

export const ItemSchema = z.object({
  beads_id: z.string(),
  /** Written only by the state machine, always STATUS_OF[state]. */
  status: z.enum(ITEM_STATUSES),
  state: z.enum(ITEM_STATES),
  phase: z.enum(['implement', 'review']).nullable(),
  /** Jobs started for this item (implement and review); leases are per beads_id + attempt. */
  attempt: z.number().int().min(0),
  implement_failures: z.number().int().min(0),
  review_failures: z.number().int().min(0),
  revisions: z.number().int().min(0),
  provider: z.string().nullable(),
  /** The fleet host of the current attempt's job. */
  host: z.string().nullable().default(null),
  job_beads: z.string().nullable(),
  run_instance: z.string().nullable(),
  /** When this attempt's job was requested: an adopted job must have started after it. */
  job_requested_at: z.string().nullable(),
  worktree: z.string().nullable(),
  verdict: z.string().nullable(),
  reason_code: z.string().nullable(),
  error: z.string().nullable(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  implement_summary: z.string().nullable(),
  /** The commit the implement job left (its report's end_head): a review on another host needs it there. */
  implement_head: z.string().nullable().default(null),
  /** What the last review asked to change: passed to the next implement attempt. */
  review_findings: z.array(z.string()),
  attempts: z.array(AttemptSchema),
  /**
   * How many records the item's ledger holds as of this state (null in waves written before it was
   * kept): a resumed wave finds there the records of a transition its killed orchestrator wrote
   * ahead but never recorded here.
   */
  ledger_records: z.number().int().min(0).nullable().default(null),
});
export type Item = z.infer<typeof ItemSchema>;

export const WaveConfigSchema = z.object({
  max_parallel: z.number().int().positive(),
  max_revisions: z.number().int().min(0),
  retry_chain: z.array(z.string()),
  review_chain: z.array(z.string()),
  review: z.boolean(),
  exec_process_cap: z.number().int().positive(),
  poll_interval_sec: z.number().positive(),
  lease_ttl_minutes: z.number().positive(),
  worktree_base: z.string(),
  prompt_file: z.string().nullable(),
  policy_file: z.string().nullable(),
  /** The fleet hosts the wave may use (`local` is this machine), in order of preference on ties. */
  hosts: z.array(z.string()).default(['local']),
  /**
   * Tokens (input + output) the wave's attempts may spend (as their jobs report them): once they have, no attempt
   * starts and the wave pauses when its running jobs end (null: no limit).
   */
  max_tokens: z.number().int().positive().nullable().default(null),
});
export type WaveConfig = z.infer<typeof WaveConfigSchema>;

export const PreflightRecordSchema = z.object({
  host: z.string().default('local'),
  provider: z.string(),
  available: z.boolean(),
  model: z.string().nullable(),
  reason_code: z.string().nullable(),
  error: z.string().nullable(),
  checked_at: z.string(),
});
export type PreflightRecord = z.infer<typeof PreflightRecordSchema>;

/** A fleet host as the wave sees it: preflighted at start, down while it does not answer. */
export const HostRecordSchema = z.object({
  host: z.string(),
  /** up: in use; down: stopped answering (its attempts wait, then are given up); skipped: failed preflight. */
  status: z.enum(['up', 'down', 'skipped']),
  reason_code: z.string().nullable(),
  error: z.string().nullable(),
  /** Live jobs of this wave the host may run. */
  max_parallel: z.number().int().positive(),
  /** The providers that passed preflight there. */
  providers: z.array(z.string()),
  down_since: z.string().nullable(),
  checked_at: z.string(),
});
export type HostRecord = z.infer<typeof HostRecordSchema>;

/** A job given up with its host (host_lost): followed until the host answers, then recorded as superseded. */
export const LostJobSchema = z.object({
  beads_id: z.string(),
  host: z.string(),
  job_beads: z.string(),
  run_instance: z.string().nullable(),
  attempt: z.number().int(),
  /** When the attempt asked for its job (absent in states written before it was recorded). */
  requested_at: z.string().nullable().default(null),
  lost_at: z.string(),
});
export type LostJob = z.infer<typeof LostJobSchema>;

export const WaveStateSchema = z.object({
  schema_version: z.literal(1),
  wave_id: z.string(),
  status: z.enum(WAVE_STATES),
  reason_code: z.string().nullable(),
  error: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  config: WaveConfigSchema,
  preflight: z.array(PreflightRecordSchema),
  hosts: z.array(HostRecordSchema).default([]),
  lost_jobs: z.array(LostJobSchema).default([]),
  /** The fencing token of the orchestrator that last wrote this state. */
  token: z.number().int().min(0),
  items: z.array(ItemSchema),
  stats: z.record(z.string(), z.number().int()),
});
export type WaveState = z.infer<typeof WaveStateSchema>;

/** Tokens (input + output) the wave's attempts have spent, as their jobs reported them. */
export function tokensSpent(state: WaveState): number {
  let spent = 0;
  for (const item of state.items)
    for (const attempt of item.attempts) spent += (attempt.tokens_input ?? 0) + (attempt.tokens_output ?? 0);
  return spent;
}

/** Whether the wave has spent its token budget (`max_tokens`): it then starts no more attempts. */
export function budgetSpent(state: WaveState): boolean {
  return state.config.max_tokens !== null && tokensSpent(state) >= state.config.max_tokens;
}

export function newItem(beadsId: string): Item {
  return {
    beads_id: beadsId,
    status: 'PENDING',
    state: 'PENDING',
    phase: null,
    attempt: 0,
    implement_failures: 0,
    review_failures: 0,
    revisions: 0,
    provider: null,
    host: null,
    job_beads: null,
    run_instance: null,
    job_requested_at: null,
    worktree: null,
    verdict: null,
    reason_code: null,
    error: null,
    started_at: null,
    completed_at: null,
    implement_summary: null,
    implement_head: null,
    review_findings: [],
    attempts: [],
    ledger_records: 0,
  };
}

export function computeStats(items: Item[]): Record<string, number> {
  const stats: Record<string, number> = { total: items.length };
  for (const s of ITEM_STATUSES) stats[s.toLowerCase()] = 0;
  for (const i of items) stats[i.status.toLowerCase()] += 1;
  return stats;
}

/** Every host a wave's attempts went to, and this machine: where its jobs (and holds on them) are. */
export function hostsOfWave(state: WaveState): string[] {
  return [...new Set(['local', ...state.items.flatMap((i) => i.attempts.map((a) => a.host))])];
}

export function isTerminalItem(item: Item): boolean {
  return TERMINAL_ITEM_STATES.includes(item.state);
}

export function loadWave(paths: WavePaths): WaveState {
  const parsed = WaveStateSchema.safeParse(withItemStates(readWaveData(paths)));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DxError(`wave state ${paths.state}: ${issue.path.join('.')}: ${issue.message}`, {
      exitCode: ExitCode.general,
      reasonCode: 'wave_state_corrupt',
    });
  }
  return parsed.data;
}

/**
 * Waves written before the state machine named queued work carry only `status`: a job-less
 * IMPLEMENTING/REVIEWING item was queued.
 */
function withItemStates(data: unknown): unknown {
  const items = (data as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return data;
  for (const item of items as Array<Record<string, unknown>>) {
    if (item && typeof item === 'object' && item.state === undefined) {
      const queued = item.job_beads === null || item.job_beads === undefined;
      item.state =
        item.status === 'IMPLEMENTING' && queued
          ? 'IMPLEMENT_QUEUED'
          : item.status === 'REVIEWING' && queued
            ? 'REVIEW_QUEUED'
            : item.status;
    }
  }
  return data;
}

export function waveExists(paths: WavePaths): boolean {
  return fs.existsSync(paths.state);
}

/**
 * Write the wave: with `changed`, one transition that changed those items (none: only the wave's
 * own fields) appended to the journal; without, a snapshot of the whole wave (see journal.ts).
 */
export function writeWave(paths: WavePaths, state: WaveState, changed?: readonly Item[]): void {
  state.updated_at = new Date().toISOString();
  state.stats = computeStats(state.items);
  fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  if (changed && appendTransition(paths, state, changed)) return;
  writeSnapshot(paths, state);
}
