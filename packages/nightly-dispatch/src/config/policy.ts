import { z } from '@dx/core/zod';
import type { PolicySection } from '@dx/core';
import { NIGHTLY_DEFAULTS } from './policy-defaults.js';

export { NIGHTLY_DEFAULTS };

const providerId = z.string().regex(/^[a-z][a-z0-9-]*$/);

/** nightly-dispatch's section of the policy file (`nightly:`). */
export interface NightlyPolicy {
  /** The fleet hosts of the night (`local`: this machine). */
  hosts: string[];
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
  /** Tokens the night's jobs may have spent in the last 24 h before a run claims nothing (null: no limit). */
  maxTokensPerDay: number | null;
}

export const NightlySectionSchema = z
  .object({
    /** Preflight order; each provider (or each of its provider_models in turn) until one passes. */
    provider_chain: z.array(providerId).min(1).optional(),
    /** Dispatches per run. */
    max_items: z.number().int().positive().optional(),
    /** Wait this long for dx-runner start's acknowledgement, and retry this many times. */
    ack_timeout_sec: z.number().positive().optional(),
    ack_retries: z.number().int().min(0).optional(),
    /** Jobs at once during the first migration_hours after the recorded migration start, then max_parallel_post_migration. */
    max_parallel: z.number().int().positive().optional(),
    max_parallel_post_migration: z.number().int().positive().optional(),
    migration_hours: z.number().positive().optional(),
    alert_on_fallback: z.boolean().optional(),
    alert_on_no_providers: z.boolean().optional(),
    /** One alert per kind per this many minutes, across runs. */
    alert_rate_limit_minutes: z.number().min(0).optional(),
    /** Where the night's work comes from: `bd ready`, or open bugs of critical_priorities (the legacy script). */
    work_query: z.enum(['ready', 'critical_bugs']).optional(),
    critical_priorities: z.array(z.number().int().min(0)).min(1).optional(),
    /** Items whose titles are the same (case and spacing aside) are dispatched once. */
    dedupe_by_title: z.boolean().optional(),
    /** More critical bugs than this: an overload alert, and one dispatch this run. */
    max_critical_bugs: z.number().int().min(0).optional(),
    alert_on_overload: z.boolean().optional(),
    /** One summary alert per run that dispatched (or failed to dispatch) anything. */
    alert_on_dispatch_complete: z.boolean().optional(),
    /** Models tried in order for a provider of the chain. */
    provider_models: z.record(providerId, z.array(z.string().min(1)).min(1)).optional(),
    /** Fleet hosts the night dispatches to (names of fleet.hosts, and local); default batch.hosts, else local. */
    hosts: z.array(z.string().min(1)).min(1).optional(),
    /** Tokens (input + output) the jobs it dispatched may have spent in the last 24 h before a run claims nothing. */
    max_tokens_per_day: z.number().int().positive().optional(),
  })
  .strict();

export const NIGHTLY_SECTION: PolicySection<NightlyPolicy> = {
  key: 'nightly',
  schema: NightlySectionSchema,
  defaults: NIGHTLY_DEFAULTS,
  resolve(raw, policy) {
    const n = NightlySectionSchema.parse(raw);
    const d = NIGHTLY_DEFAULTS;
    // dx-batch's hosts when the night names none: one list for the fleet's tools
    const batchHosts = (policy.document.batch as { hosts?: unknown } | undefined)?.hosts;
    return {
      hosts: n.hosts ?? (Array.isArray(batchHosts) ? batchHosts.map(String) : ['local']),
      providerChain: n.provider_chain ?? [...d.provider_chain],
      maxItems: n.max_items ?? d.max_items,
      ackTimeoutSec: n.ack_timeout_sec ?? d.ack_timeout_sec,
      ackRetries: n.ack_retries ?? d.ack_retries,
      maxParallel: n.max_parallel ?? d.max_parallel,
      maxParallelPostMigration: n.max_parallel_post_migration ?? d.max_parallel_post_migration,
      migrationHours: n.migration_hours ?? d.migration_hours,
      alertOnFallback: n.alert_on_fallback ?? d.alert_on_fallback,
      alertOnNoProviders: n.alert_on_no_providers ?? d.alert_on_no_providers,
      alertRateLimitMinutes: n.alert_rate_limit_minutes ?? d.alert_rate_limit_minutes,
      workQuery: n.work_query ?? d.work_query,
      criticalPriorities: n.critical_priorities ?? [...d.critical_priorities],
      dedupeByTitle: n.dedupe_by_title ?? d.dedupe_by_title,
      maxCriticalBugs: n.max_critical_bugs ?? d.max_critical_bugs,
      alertOnOverload: n.alert_on_overload ?? d.alert_on_overload,
      alertOnDispatchComplete: n.alert_on_dispatch_complete ?? d.alert_on_dispatch_complete,
      // the policy's map is merged over the defaults key by key, like every map in the policy
      providerModels: Object.fromEntries(Object.entries(n.provider_models ?? {}).map(([k, v]) => [k, [...v]])),
      // no budget unless one is set
      maxTokensPerDay: n.max_tokens_per_day ?? null,
    };
  },
};
