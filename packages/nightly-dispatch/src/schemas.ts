import { z } from '@dx/core/zod';
import { PreflightOutputSchema } from '@dx/core';

/** The morning report of one run (`run --json` prints it; the JSON Schema is generated from it). */
export const NightItemSchema = z.object({
  beads_id: z.string(),
  title: z.string().nullable(),
  /** dispatched: running under dx-runner; skipped: left alone (claimed by someone else, no slot…); failed: claimed but not launched. */
  action: z.enum(['dispatched', 'skipped', 'failed', 'would_dispatch']),
  reason: z.string().nullable(),
  claimed_by: z.string().nullable(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  run_instance: z.string().nullable(),
  /** The fleet host it was dispatched to (`local`: this machine; null when not dispatched). */
  host: z.string().nullable().default(null),
  ack_attempts: z.number().int(),
  claim_released: z.boolean(),
});
export type NightItem = z.infer<typeof NightItemSchema>;

/** A host of the night (nightly.hosts): reachable or why not, the chain entries that passed there, its cap. */
export const NightHostRecordSchema = z.object({
  host: z.string(),
  reachable: z.boolean(),
  reason_code: z.string().nullable(),
  error: z.string().nullable(),
  passing: z.array(z.string()),
  max_parallel: z.number().int().nullable(),
});
export type NightHostRecord = z.infer<typeof NightHostRecordSchema>;

/** A dispatch an earlier run left between bd's claim and its outcome, settled by a later run. */
export const InterruptedDispatchSchema = z.object({
  beads_id: z.string(),
  /** The run that claimed the item. */
  run_id: z.string(),
  host: z.string(),
  /** job_started: its job had started, the claim stays; claim_released: no job, the item is ready again; claim_moved_on: no job, but someone changed the item since (left alone); never_claimed: the run was killed while bd was claiming, and bd never took the claim; claim_kept: could not tell (asked again next run). */
  outcome: z.enum(['job_started', 'claim_released', 'claim_moved_on', 'never_claimed', 'claim_kept']),
  reason: z.string(),
});
export type InterruptedDispatch = z.infer<typeof InterruptedDispatchSchema>;

const AlertRecordSchema = z.object({
  kind: z.string(),
  result: z.enum(['sent', 'rate_limited', 'failed', 'disabled', 'dry_run']),
  detail: z.string().nullable(),
});

export const NightReportSchema = z.object({
  run_id: z.string(),
  started_at: z.string(),
  completed_at: z.string(),
  dry_run: z.boolean(),
  /** A rehearsal (run --simulate): the scenario set the providers played; null for a real night. */
  simulation: z
    .object({ name: z.string(), description: z.string(), providers: z.record(z.string(), z.string()) })
    .nullable(),
  status: z.enum([
    'ok',
    'partial',
    'no_provider',
    'beads_unavailable',
    'nothing_to_do',
    'disk_low',
    'token_budget_spent',
    'interrupted',
  ]),
  exit_code: z.number().int(),
  error: z.string().nullable(),
  /** The fleet hosts of the night (empty when it ran on this machine only). */
  hosts: z.array(NightHostRecordSchema).default([]),
  migration: z.object({
    started_at: z.string().nullable(),
    max_parallel: z.number().int(),
    live_jobs: z.number().int(),
  }),
  /** Where the work came from (nightly.work_query), how many critical bugs it held, and whether that tripped the overload protection. */
  work: z.object({ query: z.enum(['ready', 'critical_bugs']), critical: z.number().int(), overload: z.boolean() }),
  provider: z.object({
    selected: z.string().nullable(),
    model: z.string().nullable(),
    fallback: z.boolean(),
    primary_failure: z.object({ provider: z.string(), reason_code: z.string(), error: z.string() }).nullable(),
    preflight: z.array(PreflightOutputSchema),
    /** What would break a fallback not needed tonight (a provider of the chain not installed). */
    warnings: z.array(z.string()).default([]),
  }),
  counts: z.object({
    ready: z.number().int(),
    claimed: z.number().int(),
    dispatched: z.number().int(),
    skipped: z.number().int(),
    failed: z.number().int(),
  }),
  /** Dispatches earlier runs left unsettled (killed between bd's claim and the outcome, or a host that could not be asked), and how this run settled each. */
  interrupted: z.array(InterruptedDispatchSchema).default([]),
  /**
   * Jobs earlier runs dispatched that this run found alive and getting nowhere (stalled: no
   * progress, or an agent repeating its tool calls; or a no-op still running) and stopped, as their
   * owner: their issues stay claimed for a person to look at.
   */
  stopped: z
    .array(z.object({ beads_id: z.string(), host: z.string(), reason_code: z.string(), detail: z.string().nullable() }))
    .default([]),
  /**
   * Jobs of earlier runs found ended since the run before looked (each is reported once, then
   * forgotten): how each ended. Its issue stays claimed for a person to review and close.
   */
  finished: z
    .array(
      z.object({
        beads_id: z.string(),
        host: z.string(),
        state: z.string(),
        reason_code: z.string(),
        exit_code: z.number().int().nullable(),
        completed_at: z.string().nullable(),
        next_action_text: z.string(),
        /** Tokens (input + output) its report gave (0: none reported); null in reports from before. */
        tokens: z.number().int().nullable().default(null),
      }),
    )
    .default([]),
  /**
   * The daily token budget (`nightly.max_tokens_per_day`, null: none) and what the jobs the tool
   * started spent in the 24 h before this run, as their ends were seen.
   */
  tokens: z
    .object({ max_per_day: z.number().int().nullable(), spent_last_24h: z.number().int() })
    .default({ max_per_day: null, spent_last_24h: 0 }),
  items: z.array(NightItemSchema),
  alerts: z.array(AlertRecordSchema),
  report_files: z.object({ markdown: z.string(), json: z.string() }),
});
export type NightReport = z.infer<typeof NightReportSchema>;

/** `nightly-dispatch smoke`: The real-CLI smoke test against the installed dx-runner. */
export const SmokeOutputSchema = z.object({
  ok: z.boolean(),
  beads_id: z.string(),
  checks: z.array(
    z.object({
      name: z.string(),
      argv: z.array(z.string()),
      exit_code: z.number().int(),
      expected: z.array(z.number().int()),
      ok: z.boolean(),
      detail: z.string().nullable(),
    }),
  ),
  alerts: z.array(AlertRecordSchema),
});
export type SmokeOutput = z.infer<typeof SmokeOutputSchema>;

/** `nightly-dispatch prune`: morning reports past retention.nights_days. */
export const NightlyPruneOutputSchema = z.object({
  dry_run: z.boolean(),
  older_than_sec: z.number().int(),
  keep_last: z.number().int(),
  removed: z.array(z.object({ run_id: z.string(), files: z.number().int(), bytes: z.number().int() })),
  kept: z.number().int(),
  bytes_freed: z.number().int(),
  /** Reports past retention the file system would not let go (its error); the next prune tries again. */
  not_removed: z.array(z.object({ run_id: z.string(), error: z.string() })),
});
export type NightlyPruneOutput = z.infer<typeof NightlyPruneOutputSchema>;

export const NIGHTLY_OUTPUT_SCHEMAS = {
  run: NightReportSchema,
  prune: NightlyPruneOutputSchema,
  smoke: SmokeOutputSchema,
} as const;
