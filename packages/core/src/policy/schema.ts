import { z } from 'zod';

/**
 * Every field is optional so a user policy can override any subset; the shipped default policy
 * supplies the rest. Objects are strict so a misspelt key is reported, not silently ignored.
 */
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name');
const providerId = z.string().regex(/^[a-z][a-z0-9-]*$/);

export const ProviderPolicySchema = z
  .object({
    /** The model a job runs unless one is requested. */
    canonical_model: z.string().min(1).optional(),
    /** The same model reachable under other ids (e.g. another route to GLM-5); strict_gate accepts these. */
    canonical_aliases: z.array(z.string().min(1)).optional(),
    /** Models that may run at all; requests and env overrides outside it are refused (exit 25). */
    allowed_models: z.array(z.string().min(1)).optional(),
    /** true: never fall back to another model inside this provider; fail so the chain moves on. */
    strict_gate: z.boolean().optional(),
    max_parallel: z.number().int().positive().optional(),
    /** Bound on the CLI's own retries of a failing request. */
    max_retries: z.number().int().min(0).max(20).optional(),
    /** Runbook env overrides: names of the variables that pick a model, the canonical model, the allowlist. */
    model_env: envName.optional(),
    canonical_model_env: envName.optional(),
    allowed_models_env: envName.optional(),
    /** Provider-specific settings, documented in the provider's README. */
    options: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export const PolicySchema = z
  .object({
    version: z.literal(1).optional(),
    worktrees: z
      .object({
        allowed_prefixes: z.array(z.string().min(1)).optional(),
        forbidden_repos: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    defaults: z
      .object({
        max_parallel: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    /** dx-batch: how waves run (SPEC §7; seed 004). */
    batch: z
      .object({
        /** Implement attempts move along this chain after each failure; past its end the item is blocked. */
        retry_chain: z.array(providerId).min(1).optional(),
        /** Providers for the separate review run, tried in order on review failures (default: retry_chain). */
        review_chain: z.array(providerId).min(1).optional(),
        max_parallel: z.number().int().positive().optional(),
        /** Review REVISION_REQUIRED verdicts allowed before the item is blocked. */
        max_revisions: z.number().int().min(0).optional(),
        exec_process_cap: z.number().int().positive().optional(),
        /** An orchestrator that has not renewed its wave lease for this long may be taken over. */
        lease_ttl_minutes: z.number().positive().optional(),
        poll_interval_sec: z.number().positive().optional(),
        review: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** dx-dispatch: legacy VM/host names mapped to providers; unlisted hosts go to default_provider. */
    dispatch: z
      .object({ hosts: z.record(z.string().min(1), providerId).optional(), default_provider: providerId.optional() })
      .strict()
      .optional(),
    /** nightly-dispatch (seed 003). */
    nightly: z
      .object({
        /** Preflight order; default fallback_chain. */
        provider_chain: z.array(providerId).min(1).optional(),
        max_items: z.number().int().positive().optional(),
        ack_timeout_sec: z.number().positive().optional(),
        ack_retries: z.number().int().min(0).optional(),
        /** Jobs at once during the first migration_hours after the recorded migration start, then max_parallel_post_migration. */
        max_parallel: z.number().int().positive().optional(),
        max_parallel_post_migration: z.number().int().positive().optional(),
        migration_hours: z.number().positive().optional(),
        alert_on_fallback: z.boolean().optional(),
        alert_on_no_providers: z.boolean().optional(),
        alert_rate_limit_minutes: z.number().min(0).optional(),
        /** Where the night's work comes from: `bd ready` (seed 003) or the legacy open-bug query filtered to critical priorities. */
        work_query: z.enum(['ready', 'critical_bugs']).optional(),
        /** Bug priorities that count as critical (the legacy P0/P1). */
        critical_priorities: z.array(z.number().int().min(0)).min(1).optional(),
        /** Items whose titles are the same (case and spacing aside) are dispatched once. */
        dedupe_by_title: z.boolean().optional(),
        /** More critical bugs than this: an overload alert, and one dispatch this run. */
        max_critical_bugs: z.number().int().min(0).optional(),
        alert_on_overload: z.boolean().optional(),
        /** One summary alert per run that dispatched (or failed to dispatch) anything. */
        alert_on_dispatch_complete: z.boolean().optional(),
        /** Models tried in order for a provider of the chain (seed 003: gemini-2.5-pro, then gemini-2.0-flash). */
        provider_models: z.record(providerId, z.array(z.string().min(1)).min(1)).optional(),
      })
      .strict()
      .optional(),
    /** What a job may write and the free space launches need (bounded disk). */
    limits: z
      .object({
        /** A job log is kept to its first part plus a rolling last part past this size (also the watcher's own log). */
        max_log_mb: z.number().positive().optional(),
        /** An agent that prints more than this is stopped (output_flood). */
        max_output_mb: z.number().positive().optional(),
        /** start (and dx-batch, nightly-dispatch) refuse to launch below this much free space where the state lives. */
        min_free_mb: z.number().min(0).optional(),
      })
      .strict()
      .optional(),
    /** How long finished work is kept (prune --retention, and once a day by watchdog and the nightly run). */
    retention: z
      .object({
        jobs_days: z.number().positive().optional(),
        waves_days: z.number().positive().optional(),
        nights_days: z.number().positive().optional(),
        /** The most recent finished jobs, waves and nights kept whatever their age. */
        keep_last: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    /** Preflight order when no provider is named: the first available one is selected. */
    fallback_chain: z.array(providerId).optional(),
    providers: z.record(providerId, ProviderPolicySchema).optional(),
  })
  .strict();

export type PolicyDocument = z.infer<typeof PolicySchema>;
export type ProviderPolicy = z.infer<typeof ProviderPolicySchema>;

export interface BatchPolicy {
  retryChain: string[];
  reviewChain: string[];
  maxParallel: number;
  maxRevisions: number;
  execProcessCap: number;
  leaseTtlMinutes: number;
  pollIntervalSec: number;
  review: boolean;
}

export interface NightlyPolicy {
  providerChain: string[];
  maxItems: number;
  ackTimeoutSec: number;
  ackRetries: number;
  maxParallel: number;
  maxParallelPostMigration: number;
  migrationHours: number;
  alertOnFallback: boolean;
  alertOnNoProviders: boolean;
  alertRateLimitMinutes: number;
  workQuery: 'ready' | 'critical_bugs';
  criticalPriorities: number[];
  dedupeByTitle: boolean;
  maxCriticalBugs: number;
  alertOnOverload: boolean;
  alertOnDispatchComplete: boolean;
  providerModels: Record<string, string[]>;
}

export interface LimitsPolicy {
  maxLogMb: number;
  maxOutputMb: number;
  minFreeMb: number;
}

export interface RetentionPolicy {
  jobsDays: number;
  wavesDays: number;
  nightsDays: number;
  keepLast: number;
}

/** The merged, resolved policy every consumer reads. */
export interface Policy {
  readonly sources: string[];
  readonly worktrees: { allowedPrefixes: string[]; forbiddenRepos: string[] };
  readonly defaults: { maxParallel: number };
  readonly providers: Record<string, ProviderPolicy>;
  readonly fallbackChain: string[];
  readonly batch: BatchPolicy;
  readonly dispatch: { hosts: Record<string, string>; defaultProvider: string | null };
  readonly nightly: NightlyPolicy;
  readonly limits: LimitsPolicy;
  readonly retention: RetentionPolicy;
  readonly document: PolicyDocument;
}
