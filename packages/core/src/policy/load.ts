import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DxError, ExitCode } from '../errors.js';
import { PolicySchema, type Policy, type PolicyDocument } from './schema.js';
import { readYamlFile } from './yaml.js';

export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../policy/default.yaml', import.meta.url));

/** Parse one policy file; every error names file, line and column. */
export function readPolicyFile(file: string): PolicyDocument {
  return readYamlFile(file, PolicySchema, 'policy');
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Maps merge key by key; lists and scalars are replaced. */
export function mergePolicy<T>(base: T, override: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(override)) return (override === undefined ? base : override) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = k in out ? mergePolicy(out[k], v) : v;
  return out as T;
}

export function expandHome(p: string, env: NodeJS.ProcessEnv = process.env): string {
  if (p === '~') return env.HOME || os.homedir();
  if (p.startsWith('~/')) return path.join(env.HOME || os.homedir(), p.slice(2));
  return p;
}

export function userPolicyFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return path.resolve(explicit);
  if (env.DX_POLICY_FILE) return path.resolve(env.DX_POLICY_FILE);
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  const candidate = path.join(configHome, 'dx-runner', 'policy.yaml');
  return fs.existsSync(candidate) ? candidate : undefined;
}

export interface LoadPolicyOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** The default policy, overridden by the user's file if any, plus env overrides. */
export function loadPolicy(options: LoadPolicyOptions = {}): Policy {
  const env = options.env ?? process.env;
  const sources = [DEFAULT_POLICY_FILE];
  let document = readPolicyFile(DEFAULT_POLICY_FILE);
  const user = userPolicyFile(options.file, env);
  if (user) {
    document = mergePolicy(document, readPolicyFile(user));
    sources.push(user);
  }
  const extra = (env.DX_RUNNER_EXTRA_ALLOWED_PREFIXES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    sources,
    document,
    worktrees: {
      allowedPrefixes: [...(document.worktrees?.allowed_prefixes ?? []), ...extra].map((p) => expandHome(p, env)),
      forbiddenRepos: (document.worktrees?.forbidden_repos ?? []).map((p) => expandHome(p, env)),
    },
    defaults: { maxParallel: document.defaults?.max_parallel ?? 2 },
    providers: document.providers ?? {},
    fallbackChain: document.fallback_chain ?? [],
    batch: {
      retryChain: document.batch?.retry_chain ?? document.fallback_chain ?? [],
      reviewChain: document.batch?.review_chain ?? document.batch?.retry_chain ?? document.fallback_chain ?? [],
      maxParallel: document.batch?.max_parallel ?? 3,
      maxRevisions: document.batch?.max_revisions ?? 2,
      execProcessCap: document.batch?.exec_process_cap ?? 60,
      leaseTtlMinutes: document.batch?.lease_ttl_minutes ?? 10,
      pollIntervalSec: document.batch?.poll_interval_sec ?? 5,
      review: document.batch?.review ?? true,
    },
    dispatch: { hosts: document.dispatch?.hosts ?? {}, defaultProvider: document.dispatch?.default_provider ?? document.fallback_chain?.[0] ?? null },
    nightly: {
      providerChain: document.nightly?.provider_chain ?? document.fallback_chain ?? [],
      maxItems: document.nightly?.max_items ?? 3,
      ackTimeoutSec: document.nightly?.ack_timeout_sec ?? 45,
      ackRetries: document.nightly?.ack_retries ?? 1,
      maxParallel: document.nightly?.max_parallel ?? 1,
      maxParallelPostMigration: document.nightly?.max_parallel_post_migration ?? 2,
      migrationHours: document.nightly?.migration_hours ?? 48,
      alertOnFallback: document.nightly?.alert_on_fallback ?? true,
      alertOnNoProviders: document.nightly?.alert_on_no_providers ?? true,
      alertRateLimitMinutes: document.nightly?.alert_rate_limit_minutes ?? 30,
      workQuery: document.nightly?.work_query ?? 'ready',
      criticalPriorities: document.nightly?.critical_priorities ?? [0, 1],
      dedupeByTitle: document.nightly?.dedupe_by_title ?? true,
      maxCriticalBugs: document.nightly?.max_critical_bugs ?? 10,
      alertOnOverload: document.nightly?.alert_on_overload ?? true,
      alertOnDispatchComplete: document.nightly?.alert_on_dispatch_complete ?? true,
      providerModels: document.nightly?.provider_models ?? {},
    },
    limits: {
      maxLogMb: document.limits?.max_log_mb ?? 50,
      maxOutputMb: document.limits?.max_output_mb ?? 1024,
      minFreeMb: document.limits?.min_free_mb ?? 1024,
    },
    retention: {
      jobsDays: document.retention?.jobs_days ?? 30,
      wavesDays: document.retention?.waves_days ?? 90,
      nightsDays: document.retention?.nights_days ?? 90,
      keepLast: document.retention?.keep_last ?? 200,
    },
  };
}

/** DX_RUNNER_MAX_PARALLEL_<PROVIDER> wins over the policy; provider names map `-` to `_`. */
export function maxParallelFor(policy: Policy, provider: string, env: NodeJS.ProcessEnv = process.env): number {
  const key = `DX_RUNNER_MAX_PARALLEL_${provider.toUpperCase().replace(/-/g, '_')}`;
  const fromEnv = env[key];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) {
      throw new DxError(`${key} must be a positive integer, got "${fromEnv}"`, { exitCode: ExitCode.general, reasonCode: 'invalid_env' });
    }
    return n;
  }
  return policy.providers[provider]?.max_parallel ?? policy.defaults.maxParallel;
}
