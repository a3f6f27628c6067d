import { z } from '@dx/core/zod';
import { JobReportSchema } from '@dx/core';
import { NightReportSchema } from '@dx/nightly-dispatch';
import { WaveReportSchema } from '@dx/dx-batch';

/**
 * What the dashboard's HTTP API answers (`/api/...`): every body is one of these, so the page and
 * any script reading the API see the same typed shapes. All text in them is redacted.
 */
const iso = z.string().nullable();

/** One row of the jobs view: the health verdict plus what an operator scans for. */
export const JobRowSchema = z.object({
  beads: z.string(),
  provider: z.string(),
  state: z.string(),
  reason_code: z.string(),
  next_action: z.string(),
  next_action_text: z.string(),
  live: z.boolean(),
  outcome_state: z.string().nullable(),
  model: z.string().nullable(),
  host: z.string().nullable(),
  owner: z.string().nullable(),
  started_at: iso,
  completed_at: iso,
  elapsed_sec: z.number().int().nullable(),
  last_event_at: iso,
  last_event_kind: z.string().nullable(),
  tokens_input: z.number().int().nullable(),
  tokens_output: z.number().int().nullable(),
  cost_usd: z.number().nullable(),
  summary: z.string().nullable(),
});
export type JobRow = z.infer<typeof JobRowSchema>;

export const JobsResponseSchema = z.object({
  generated_at: z.string(),
  state_dir: z.string(),
  jobs: z.array(JobRowSchema),
});
export type JobsResponse = z.infer<typeof JobsResponseSchema>;

export const TimelineEventSchema = z.object({
  at: z.string(),
  kind: z.enum(['start', 'launch', 'progress', 'rate_limit', 'restart', 'termination', 'end', 'note']),
  text: z.string(),
});
export type TimelineEvent = z.infer<typeof TimelineEventSchema>;

export const JobDetailSchema = z.object({
  report: JobReportSchema,
  owner: z.string().nullable(),
  timeline: z.array(TimelineEventSchema),
  log_tail: z.array(z.string()),
  /** The commands an operator runs next: shown to copy, never run by the dashboard. */
  commands: z.array(z.object({ label: z.string(), command: z.string() })),
});
export type JobDetail = z.infer<typeof JobDetailSchema>;

export const WaveSummarySchema = z.object({
  wave_id: z.string(),
  status: z.string(),
  created_at: z.string(),
  started_at: iso,
  completed_at: iso,
  items: z.number().int(),
  counts: z.record(z.string(), z.number().int()),
  tokens_input: z.number().int(),
  tokens_output: z.number().int(),
  cost_usd: z.number().nullable(),
});
export type WaveSummary = z.infer<typeof WaveSummarySchema>;

export const WavesResponseSchema = z.object({
  batch_dir: z.string(),
  waves: z.array(WaveSummarySchema),
  /** Wave folders whose state file could not be read (shown, never hidden). */
  unreadable: z.array(z.object({ wave_id: z.string(), error: z.string() })),
});
export type WavesResponse = z.infer<typeof WavesResponseSchema>;

export const WaveDetailSchema = z.object({
  summary: WaveSummarySchema,
  report: WaveReportSchema,
  /** Cost of each attempt's job when its record is still here (keyed `job_beads@run_instance`). */
  attempt_cost_usd: z.record(z.string(), z.number()),
});
export type WaveDetail = z.infer<typeof WaveDetailSchema>;

export const NightSummarySchema = z.object({
  run_id: z.string(),
  started_at: z.string(),
  completed_at: z.string(),
  status: z.string(),
  dry_run: z.boolean(),
  simulation: z.string().nullable(),
  provider: z.string().nullable(),
  fallback: z.boolean(),
  counts: NightReportSchema.shape.counts,
  alerts: z.number().int(),
});
export type NightSummary = z.infer<typeof NightSummarySchema>;

export const NightsResponseSchema = z.object({
  nightly_dir: z.string(),
  nights: z.array(NightSummarySchema),
  unreadable: z.array(z.object({ run_id: z.string(), error: z.string() })),
});
export type NightsResponse = z.infer<typeof NightsResponseSchema>;

export const NightDetailSchema = z.object({ report: NightReportSchema });
export type NightDetail = z.infer<typeof NightDetailSchema>;

const ProviderWindowSchema = z.object({
  jobs: z.number().int(),
  success: z.number().int(),
  no_op: z.number().int(),
  error: z.number().int(),
  rate_limited: z.number().int(),
  median_duration_sec: z.number().nullable(),
  tokens_input: z.number().int(),
  tokens_output: z.number().int(),
  /** null when no run reported a cost. */
  cost_usd: z.number().nullable(),
});
export type ProviderWindow = z.infer<typeof ProviderWindowSchema>;

export const ProvidersResponseSchema = z.object({
  generated_at: z.string(),
  providers: z.array(
    z.object({
      provider: z.string(),
      last_24h: ProviderWindowSchema,
      last_7d: ProviderWindowSchema,
      /** Finished runs per day, oldest first (7 entries, the last is today, UTC). */
      daily: z.array(
        z.object({
          day: z.string(),
          success: z.number().int(),
          no_op: z.number().int(),
          error: z.number().int(),
          rate_limited: z.number().int(),
        }),
      ),
    }),
  ),
});
export type ProvidersResponse = z.infer<typeof ProvidersResponseSchema>;

export const HostsResponseSchema = z.object({
  policy_error: z.string().nullable(),
  hosts: z.array(
    z.object({
      host: z.string(),
      ssh: z.string().nullable(),
      max_parallel: z.number().int().nullable(),
      providers: z.array(z.string()).nullable(),
      /** null: a remote host not asked yet (the page is told when its answer lands). */
      reachable: z.boolean().nullable(),
      failure: z.object({ reason_code: z.string(), message: z.string() }).nullable(),
      checked_at: z.string().nullable(),
      /** How far the host's clock is ahead of this machine's (negative: behind), from its last answer; null until it answered. */
      clock_offset_ms: z.number().int().nullable(),
      /** Live jobs there: this machine's state root for `local`; for a remote host what its dx-runner said, plus waves' attempts sent there. */
      live_jobs: z.array(
        z.object({ beads: z.string(), provider: z.string(), state: z.string().nullable(), source: z.string() }),
      ),
      /** Finished jobs recorded here (`local` only; null for a remote host). */
      finished_jobs: z.number().int().nullable(),
    }),
  ),
});
export type HostsResponse = z.infer<typeof HostsResponseSchema>;

/** `dashboard --json`: one line when the server listens (the token, if any, is never in it). */
export const DashboardListeningSchema = z.object({
  event: z.literal('listening'),
  url: z.string(),
  bind: z.string(),
  port: z.number().int(),
  token_required: z.boolean(),
  state_dir: z.string(),
  batch_dir: z.string(),
  nightly_dir: z.string(),
});
export type DashboardListening = z.infer<typeof DashboardListeningSchema>;

export const DASHBOARD_OUTPUT_SCHEMAS = {
  'dashboard-listening': DashboardListeningSchema,
  'dashboard-api-jobs': JobsResponseSchema,
  'dashboard-api-job': JobDetailSchema,
  'dashboard-api-waves': WavesResponseSchema,
  'dashboard-api-wave': WaveDetailSchema,
  'dashboard-api-nights': NightsResponseSchema,
  'dashboard-api-night': NightDetailSchema,
  'dashboard-api-providers': ProvidersResponseSchema,
  'dashboard-api-hosts': HostsResponseSchema,
} as const;
