import { z } from '@dx/core/zod';
import { AttemptSchema, WaveStateSchema } from './waves/state.js';

/** The JSON contract of every dx-batch command; JSON Schema files are generated from these. */
export const WaveOutputSchema = WaveStateSchema.extend({ next_action: z.string(), next_action_text: z.string() });
export type WaveOutput = z.infer<typeof WaveOutputSchema>;

export const DoctorOutputSchema = z.object({
  wave_id: z.string(),
  checked_at: z.string(),
  status: z.string().nullable(),
  issues: z.array(
    z.object({ type: z.string(), severity: z.enum(['critical', 'warning', 'info']), message: z.string() }),
  ),
  recommendations: z.array(z.string()),
});
export type DoctorOutput = z.infer<typeof DoctorOutputSchema>;

export const CancelOutputSchema = z.object({
  wave_id: z.string(),
  status: z.string(),
  cancelled_items: z.array(z.string()),
  stopped_jobs: z.array(z.string()),
});
export type CancelOutput = z.infer<typeof CancelOutputSchema>;

export const WaveReportSchema = z.object({
  wave_id: z.string(),
  status: z.string(),
  reason_code: z.string().nullable(),
  next_action: z.string(),
  next_action_text: z.string(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  completed_at: z.string().nullable(),
  duration_sec: z.number().int().nullable(),
  stats: z.record(z.string(), z.number().int()),
  preflight: WaveStateSchema.shape.preflight,
  /** The fleet hosts of the wave: up, down or skipped (with why), and their caps. */
  hosts: WaveStateSchema.shape.hosts,
  totals: z.object({
    attempts: z.number().int(),
    tokens_input: z.number().int(),
    tokens_output: z.number().int(),
    /** The wave's token budget (`--max-tokens`, policy batch.max_tokens); null: none. */
    max_tokens: z.number().int().nullable(),
  }),
  items: z.array(
    z.object({
      beads_id: z.string(),
      status: z.string(),
      reason_code: z.string().nullable(),
      verdict: z.string().nullable(),
      attempts: z.number().int(),
      implement_attempts: z.number().int(),
      review_attempts: z.number().int(),
      revisions: z.number().int(),
      providers: z.array(z.string()),
      /** Where the item's attempts ran, in order. */
      hosts: z.array(z.string()),
      duration_sec: z.number().int().nullable(),
      tokens_input: z.number().int(),
      tokens_output: z.number().int(),
      error: z.string().nullable(),
      history: z.array(AttemptSchema),
    }),
  ),
});
export type WaveReport = z.infer<typeof WaveReportSchema>;

/** `dx-batch prune`: finished waves past retention.waves_days removed with their ledgers, leases and prompts. */
export const BatchPruneOutputSchema = z.object({
  dry_run: z.boolean(),
  older_than_sec: z.number().int(),
  keep_last: z.number().int(),
  removed: z.array(
    z.object({ wave_id: z.string(), status: z.string(), completed_at: z.string().nullable(), bytes: z.number().int() }),
  ),
  /** Waves kept: unfinished (running, paused, pending), recent, unreadable, or whose hold on their dx-runner jobs could not be released (tried again next prune). */
  kept: z.object({
    unfinished: z.number().int(),
    recent: z.number().int(),
    unreadable: z.number().int(),
    hold_not_released: z.number().int(),
  }),
  bytes_freed: z.number().int(),
  /** Waves past retention whose files could not all be removed (the file system's error); the next prune tries again. */
  not_removed: z.array(z.object({ wave_id: z.string(), error: z.string() })),
});
export type BatchPruneOutput = z.infer<typeof BatchPruneOutputSchema>;

/** `dx-batch demo`: the demo wave (null after --clean) and whether it ended as designed. */
export const DemoOutputSchema = z.object({
  wave: WaveOutputSchema.nullable(),
  as_designed: z.boolean().nullable(),
  /** Demo repositories removed by --clean. */
  removed: z.array(z.string()),
});
export type DemoOutput = z.infer<typeof DemoOutputSchema>;

export const DX_BATCH_OUTPUT_SCHEMAS = {
  demo: DemoOutputSchema,
  prune: BatchPruneOutputSchema,
  start: WaveOutputSchema,
  resume: WaveOutputSchema,
  status: WaveOutputSchema,
  cancel: CancelOutputSchema,
  doctor: DoctorOutputSchema,
  report: WaveReportSchema,
} as const;
