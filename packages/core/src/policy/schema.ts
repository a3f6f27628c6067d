import { z } from 'zod';

/**
 * Every field is optional so a user policy can override any subset; the shipped default policy
 * supplies the rest. Objects are strict so a misspelt key is reported, not silently ignored.
 */
const envName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'expected an environment variable name');
const providerId = z.string().regex(/^[a-z][a-z0-9-]*$/);
/** The longest retention age taken (1,000 years): a longer one keeps everything just the same. */
export const MAX_RETENTION_DAYS = 365_000;
const retentionDays = z.number().positive().max(MAX_RETENTION_DAYS);

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

export const FleetHostPolicySchema = z
  .object({
    /** The ssh destination: `user@host`, or a Host of the ssh config. */
    ssh: z.string().min(1),
    /** Live jobs on this host, all providers together. */
    max_parallel: z.number().int().positive().optional(),
    /** The providers this host may run (default: every provider its dx-runner has). */
    providers: z.array(providerId).optional(),
    /** The dx-runner to run there (default: `dx-runner` on the remote PATH). */
    dx_runner: z.string().min(1).optional(),
  })
  .strict();

export const FleetPolicySchema = z
  .object({
    hosts: z
      .record(z.string(), FleetHostPolicySchema)
      // a host's name is what `--host NAME` takes; `local` is this machine and needs no entry
      .superRefine((hosts, ctx) => {
        for (const name of Object.keys(hosts)) {
          if (name === 'local')
            ctx.addIssue({
              code: 'custom',
              path: [name],
              message: '"local" is this machine: it is always a host and takes no entry',
            });
          else if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
            ctx.addIssue({ code: 'custom', path: [name], message: 'a host name is letters, digits, ".", "_" and "-"' });
        }
      })
      .optional(),
    ssh: z
      .object({
        /** Passed to every ssh call as `-F FILE` (otherwise ssh reads ~/.ssh/config as usual). */
        config: z.string().min(1).optional(),
        connect_timeout_sec: z.number().int().positive().max(600).optional(),
        control_persist_sec: z.number().int().min(0).max(86_400).optional(),
      })
      .strict()
      .optional(),
    /** How long a host that stopped answering keeps its running attempts (dx-batch). */
    host_down_grace_minutes: z.number().positive().optional(),
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
        jobs_days: retentionDays.optional(),
        waves_days: retentionDays.optional(),
        nights_days: retentionDays.optional(),
        /** The most recent finished jobs, waves and nights kept whatever their age. */
        keep_last: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    /** Preflight order when no provider is named: the first available one is selected. */
    fallback_chain: z.array(providerId).optional(),
    providers: z.record(providerId, ProviderPolicySchema).optional(),
    /** Other hosts, each running its own dx-runner, reached with the system's OpenSSH client. */
    fleet: FleetPolicySchema.optional(),
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

export interface FleetHostPolicy {
  name: string;
  ssh: string;
  maxParallel?: number;
  providers?: string[];
  dxRunner: string;
}

export interface FleetPolicy {
  hosts: Record<string, FleetHostPolicy>;
  ssh: { config?: string; connectTimeoutSec: number; controlPersistSec: number };
  hostDownGraceMinutes: number;
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
  readonly fleet: FleetPolicy;
  readonly document: PolicyDocument;
  /** The resolved sections of the tools that registered theirs when loading (see sections.ts). */
  readonly sections: ReadonlyMap<string, unknown>;
}
