import { z } from '../zod.js';
import { HEALTH_STATES } from '../health/states.js';
import {
  BaselineGateOutputSchema,
  ItemWorktreeGateOutputSchema,
  BeadsGateOutputSchema,
  EvidenceGateOutputSchema,
  FeatureKeyGateOutputSchema,
  IntegrityGateOutputSchema,
  ScopeGateOutputSchema,
} from './gates.js';
import { JobViewSchema } from './job-view.js';

export { JobViewSchema, type JobView } from './job-view.js';

/**
 * The JSON contract of every dx-runner command (`--json`). The siblings (dx-batch, dx-dispatch,
 * nightly-dispatch) validate dx-runner's output with these same schemas; the committed JSON Schema
 * files under `schemas/` are generated from them and checked for drift by the tests.
 */
export const ErrorOutputSchema = z.object({
  error: z.object({
    message: z.string(),
    exit_code: z.number().int(),
    reason_code: z.string(),
    next_action: z.string().nullable(),
    /** The next action as a sentence for people; scripts match on next_action. */
    next_action_text: z.string().nullable(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorOutput = z.infer<typeof ErrorOutputSchema>;

export const StartOutputSchema = z.object({
  beads: z.string(),
  provider: z.string(),
  dry_run: z.boolean(),
  state: z.enum(['launching', 'validated']),
  run_instance: z.string().nullable(),
  pid: z.number().int().nullable(),
  watcher_pid: z.number().int().nullable(),
  log: z.string().nullable(),
  worktree: z.string(),
  command: z.string(),
  selected_model: z.string().nullable(),
  fallback_reason: z.string(),
  provider_switch_from: z.array(z.string()),
  retries: z.number().int(),
});
export type StartOutput = z.infer<typeof StartOutputSchema>;

export const StatusOutputSchema = z.object({
  generated_at: z.string(),
  state_dir: z.string(),
  jobs: z.array(JobViewSchema),
  /** With `--beads a,b,…` of more than one id: the ids that have no recorded job. */
  missing: z.array(z.string()).optional(),
});
export type StatusOutput = z.infer<typeof StatusOutputSchema>;

export const CheckOutputSchema = JobViewSchema;
export type CheckOutput = z.infer<typeof CheckOutputSchema>;

/** `wait`: the job as check shows it once it ended, or when the wait gave up. */
export const WaitOutputSchema = JobViewSchema.extend({
  /** --timeout passed first; the job keeps running (exit 124). */
  timed_out: z.boolean(),
  /** SIGINT/SIGTERM ended the wait; the job keeps running. */
  interrupted: z.boolean(),
  waited_sec: z.number(),
});
export type WaitOutput = z.infer<typeof WaitOutputSchema>;

export const StopOutputSchema = z.object({
  beads: z.string(),
  provider: z.string(),
  stopped: z.boolean(),
  reason_code: z.string(),
  exit_code: z.number().int().nullable(),
  outcome_state: z.string().nullable(),
  written_by: z.enum(['watcher', 'dx-runner', 'none']),
});
export type StopOutput = z.infer<typeof StopOutputSchema>;

export const FinalizeOutputSchema = z.object({
  beads: z.string(),
  provider: z.string(),
  finalized: z.boolean(),
  reason_code: z.string(),
  exit_code: z.number().int(),
  outcome_state: z.string(),
  written_by: z.enum(['watcher', 'dx-runner', 'none']),
  /** Whether any process was signalled (false for --no-signal and for a job that had already ended). */
  signalled: z.boolean(),
});
export type FinalizeOutput = z.infer<typeof FinalizeOutputSchema>;

export const RestartOutputSchema = StartOutputSchema.extend({
  previous_run_instance: z.string(),
  stopped_previous: z.boolean(),
});
export type RestartOutput = z.infer<typeof RestartOutputSchema>;

/** Retention of finished jobs (`prune --retention` / `--older-than`). */
export const RetentionOutputSchema = z.object({
  dry_run: z.boolean(),
  older_than_sec: z.number().int(),
  keep_last: z.number().int(),
  removed: z.array(z.object({ beads: z.string(), provider: z.string(), completed_at: z.string(), files: z.number().int(), bytes: z.number().int() })),
  kept: z.object({ live: z.number().int(), held: z.number().int(), recent: z.number().int(), unfinished: z.number().int() }),
  bytes_freed: z.number().int(),
  /** Jobs past retention whose files could not all be removed (the error in the file system's words); the next prune tries again. */
  not_removed: z.array(z.object({ beads: z.string(), provider: z.string(), error: z.string() })),
});
export type RetentionOutput = z.infer<typeof RetentionOutputSchema>;

export const PruneOutputSchema = z.object({
  checked: z.number().int(),
  pruned: z.number().int(),
  stale_locks_removed: z.number().int(),
  actions: z.array(
    z.object({
      beads: z.string(),
      provider: z.string(),
      action: z.enum(['removed_invalid_pid', 'removed_orphan_pid', 'finalized_ghost', 'removed_stale_files', 'left_corrupt_state', 'left_identity_unproven', 'skipped_busy', 'left_after_error']),
      detail: z.string(),
    }),
  ),
  /** Set when finished jobs were removed by age (--retention, --older-than). */
  retention: RetentionOutputSchema.nullable(),
  /** True when the file system was full to the last byte and prune used the room kept back in `<state>/.reserve`. */
  reserve_used: z.boolean().optional(),
});
export type PruneOutput = z.infer<typeof PruneOutputSchema>;

export const WatchdogPassSchema = z.object({
  generated_at: z.string(),
  checked: z.number().int(),
  actions: z.array(
    z.object({
      beads: z.string(),
      provider: z.string(),
      state: z.string(),
      reason_code: z.string(),
      action: z.enum(['none', 'restarted', 'blocked', 'finalized_timeout', 'finalized_ghost', 'restart_failed', 'left_to_owner', 'left_identity_unproven', 'skipped_busy']),
      retries: z.number().int(),
      detail: z.string(),
    }),
  ),
  /** The daily job retention, when this pass ran it. */
  retention: RetentionOutputSchema.nullable(),
});
export type WatchdogPassOutput = z.infer<typeof WatchdogPassSchema>;

export const WatchdogOutputSchema = z.object({
  passes: z.array(WatchdogPassSchema),
});
export type WatchdogOutput = z.infer<typeof WatchdogOutputSchema>;

export const HistoryEntrySchema = z.object({
  provider: z.string(),
  run_instance: z.string(),
  state: z.string(),
  reason_code: z.string(),
  exit_code: z.number().int(),
  started_at: z.string().nullable(),
  completed_at: z.string(),
  duration_sec: z.number().int(),
  selected_model: z.string(),
});

export const JobReportSchema = JobViewSchema.extend({
  summary: z.string().nullable(),
  final_text: z.string().nullable(),
  failure_class: z.string().nullable(),
  /** When the provider said its rate limit lifts (a job that ended on, or while waiting out, a limit). */
  reset_at: z.string().nullable(),
  first_started_at: z.string().nullable(),
  evidence: z.object({
    mutations: z.number().int(),
    changed_files: z.array(z.string()),
    /** How many of the changed files the job created and left untracked (a test run's report); absent from older hosts. */
    new_untracked_files: z.number().int().optional(),
    commits: z.array(z.string()),
    start_head: z.string().nullable(),
    end_head: z.string().nullable(),
    writes_refused: z.number().int(),
  }),
  usage: z.object({
    tokens_input: z.number().int().nullable(),
    tokens_output: z.number().int().nullable(),
    cost_usd: z.number().nullable(),
    provider_retries: z.number().int(),
  }),
  history: z.array(HistoryEntrySchema),
  /** With `report --log-lines N`: the last N lines of the agent's log (what `logs --lines N` prints). */
  log_tail: z.array(z.string()).optional(),
  /** Seconds the job spent frozen with its machine (a suspend): in its duration, not in its runtime. */
  frozen_sec: z.number().int().optional(),
});
export type JobReport = z.infer<typeof JobReportSchema>;

export const FleetReportSchema = z.object({
  generated_at: z.string(),
  totals: z.record(z.enum(HEALTH_STATES), z.number().int()),
  jobs: z.array(JobReportSchema),
});
export type FleetReport = z.infer<typeof FleetReportSchema>;

export const ReportOutputSchema = z.union([JobReportSchema, FleetReportSchema]);

export const LogsOutputSchema = z.object({
  beads: z.string(),
  provider: z.string(),
  log: z.string(),
  lines: z.array(z.string()),
  /** The log was cut to stay under limits.max_log_mb: bytes_dropped bytes between its head and tail are gone. */
  cut: z.boolean(),
  bytes_dropped: z.number().int().nullable(),
});

/** `status --disk`: where the bytes are, and how many are left. */
export const DiskOutputSchema = z.object({
  generated_at: z.string(),
  state_dir: z.string(),
  total_bytes: z.number().int(),
  free_bytes: z.number().int().nullable(),
  /** Files (inodes) left on that file system; null where it has no inode limit, absent from older dx-runners. */
  free_files: z.number().int().nullable().optional(),
  by_provider: z.record(z.string(), z.number().int()),
  by_kind: z.record(z.string(), z.number().int()),
  largest_jobs: z.array(z.object({ beads: z.string(), provider: z.string(), bytes: z.number().int() })),
  /** Owners (e.g. dx-batch:<wave>) whose jobs retention keeps. */
  holds: z.array(z.string()),
});
export type DiskOutput = z.infer<typeof DiskOutputSchema>;

export const ReleaseOutputSchema = z.object({ owner: z.string(), released: z.boolean() });
export type ReleaseOutput = z.infer<typeof ReleaseOutputSchema>;
export type LogsOutput = z.infer<typeof LogsOutputSchema>;

export const PreflightOutputSchema = z.object({
  provider: z.string(),
  ok: z.boolean(),
  exit_code: z.number().int(),
  model: z.string().nullable(),
  model_source: z.string().nullable(),
  binary: z.object({ path: z.string().nullable(), version: z.string().nullable() }),
  checks: z.array(
    z.object({
      name: z.string(),
      status: z.enum(['ok', 'warn', 'fail', 'skip']),
      detail: z.string(),
      reason_code: z.string().nullable(),
      failure_class: z.string().nullable(),
    }),
  ),
  reason_code: z.string().nullable(),
  failure_class: z.string().nullable(),
  error: z.string().nullable(),
  next_action: z.string().nullable(),
  next_action_text: z.string().nullable(),
});
export type PreflightOutput = z.infer<typeof PreflightOutputSchema>;

/** `preflight` with no --provider: every provider of the fallback chain until one is available. */
export const PreflightChainOutputSchema = z.object({
  ok: z.boolean(),
  selected_provider: z.string().nullable(),
  selected_model: z.string().nullable(),
  primary_failure: z.object({ provider: z.string(), reason_code: z.string(), error: z.string() }).nullable(),
  results: z.array(PreflightOutputSchema),
  /**
   * What would break a fallback that was not needed today: a provider of the chain that is not
   * installed (a typo), an entry named twice. (Absent from an older dx-runner's answer.)
   */
  warnings: z.array(z.string()).default([]),
});
export type PreflightChainOutput = z.infer<typeof PreflightChainOutputSchema>;

export const ProfileSchemaOutput = z.object({
  name: z.string(),
  source: z.string(),
  description: z.string().nullable(),
  provider: z.string(),
  model: z.string().nullable(),
  limits: z.record(z.string(), z.number()),
});

export const ProfilesOutputSchema = z.object({
  profiles: z.array(ProfileSchemaOutput),
});
export type ProfilesOutput = z.infer<typeof ProfilesOutputSchema>;

export { JSON_CONTRACT_VERSION } from './contract.js';

/** `dx-runner --version --json`. */
export const VersionOutputSchema = z.object({
  name: z.string(),
  version: z.string(),
  /** Where this dx-runner is installed. */
  root: z.string(),
  node: z.string(),
  platform: z.string(),
  json_contract_version: z.number().int(),
  /** The provider plugin API this dx-runner speaks (a plugin's dxRunner.provider.coreApiVersion). */
  core_api_version: z.number().int(),
  plugins: z.array(z.object({ name: z.string(), version: z.string(), type: z.string() })),
});
export type VersionOutput = z.infer<typeof VersionOutputSchema>;

/** `dx-runner completion bash|zsh`: the script to source. */
export const CompletionOutputSchema = z.object({ shell: z.enum(['bash', 'zsh']), script: z.string() });
export type CompletionOutput = z.infer<typeof CompletionOutputSchema>;

/** `dx-runner completion beads-ids`: the beads ids with a job record (what --beads completes to). */
export const BeadsIdsOutputSchema = z.object({ beads: z.array(z.string()) });
export type BeadsIdsOutput = z.infer<typeof BeadsIdsOutputSchema>;

const HostFailureSchema = z.object({ reason_code: z.string(), message: z.string() });

/** `dx-runner fleet status`: one row per host, each queried side by side with its own timeout. */
export const FleetStatusOutputSchema = z.object({
  generated_at: z.string(),
  hosts: z.array(
    z.object({
      host: z.string(),
      /** The ssh destination (null for local). */
      ssh: z.string().nullable(),
      reachable: z.boolean(),
      /** Why the host could not be used (unreachable, auth, host key, contract version). */
      failure: HostFailureSchema.nullable(),
      version: z.string().nullable(),
      json_contract_version: z.number().int().nullable(),
      live_jobs: z.number().int().nullable(),
      max_parallel: z.number().int().nullable(),
      providers_ok: z.array(z.string()),
      providers_failed: z.array(z.object({ provider: z.string(), reason_code: z.string().nullable() })),
      /** 1, 5 and 15 minute load averages. */
      load: z.array(z.number()).nullable(),
      /**
       * How far the host's clock is ahead of this machine's (negative: behind), from its `status`
       * answer's time against the call's midpoint; good to within half the call.
       */
      clock_offset_ms: z.number().int().nullable(),
      elapsed_ms: z.number().int(),
    }),
  ),
});
export type FleetStatusOutput = z.infer<typeof FleetStatusOutputSchema>;
export type FleetHostStatus = FleetStatusOutput['hosts'][number];

/** `dx-runner fleet preflight`: each host's provider chain. */
export const FleetPreflightOutputSchema = z.object({
  ok: z.boolean(),
  hosts: z.array(
    z.object({
      host: z.string(),
      reachable: z.boolean(),
      failure: HostFailureSchema.nullable(),
      chain: PreflightChainOutputSchema.nullable(),
    }),
  ),
});
export type FleetPreflightOutput = z.infer<typeof FleetPreflightOutputSchema>;

/** Command id → schema of its `--json` output; drives the committed JSON Schema files. */
export const OUTPUT_SCHEMAS = {
  error: ErrorOutputSchema,
  version: VersionOutputSchema,
  completion: CompletionOutputSchema,
  'completion-beads-ids': BeadsIdsOutputSchema,
  'fleet-status': FleetStatusOutputSchema,
  'fleet-preflight': FleetPreflightOutputSchema,
  start: StartOutputSchema,
  status: z.union([StatusOutputSchema, DiskOutputSchema]),
  release: ReleaseOutputSchema,
  check: CheckOutputSchema,
  wait: WaitOutputSchema,
  stop: StopOutputSchema,
  restart: RestartOutputSchema,
  finalize: FinalizeOutputSchema,
  prune: PruneOutputSchema,
  watchdog: WatchdogOutputSchema,
  report: ReportOutputSchema,
  logs: LogsOutputSchema,
  preflight: z.union([PreflightOutputSchema, PreflightChainOutputSchema]),
  probe: PreflightOutputSchema,
  profiles: ProfilesOutputSchema,
  'baseline-gate': BaselineGateOutputSchema,
  'worktree-gate': ItemWorktreeGateOutputSchema,
  'integrity-gate': IntegrityGateOutputSchema,
  'feature-key-gate': FeatureKeyGateOutputSchema,
  'scope-gate': ScopeGateOutputSchema,
  'evidence-gate': EvidenceGateOutputSchema,
  'beads-gate': BeadsGateOutputSchema,
} as const;

/** What the CLI adds to every --json document: the contract version, and the fleet host that answered `--host`. */
const ENVELOPE = { json_contract_version: z.number().int(), fleet_host: z.string().optional() };

function withEnvelope(schema: z.ZodType): z.ZodType {
  if (schema instanceof z.ZodObject) return schema.extend(ENVELOPE);
  if (schema instanceof z.ZodUnion) return z.union((schema.options as z.ZodType[]).map(withEnvelope));
  return schema;
}

/** The JSON Schema (2020-12) of a --json output, envelope included; the siblings use it for their own outputs too. */
export function toJsonSchema(schema: z.ZodType): Record<string, unknown> {
  return z.toJSONSchema(withEnvelope(schema), { target: 'draft-2020-12', io: 'output' });
}

export function jsonSchemaFor(name: keyof typeof OUTPUT_SCHEMAS): Record<string, unknown> {
  return toJsonSchema(OUTPUT_SCHEMAS[name]);
}
