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
    // sections other tools of the toolkit own (batch, dispatch, nightly) are added by
    // sectionSchemas(): each tool validates its own, dx-runner keeps them as they are
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

export type PolicyDocument = z.infer<typeof PolicySchema> & Record<string, unknown>;
export type ProviderPolicy = z.infer<typeof ProviderPolicySchema>;

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
  readonly limits: LimitsPolicy;
  readonly retention: RetentionPolicy;
  readonly document: PolicyDocument;
  /** The resolved sections of the tools that registered theirs when loading (see sections.ts). */
  readonly sections: ReadonlyMap<string, unknown>;
}
