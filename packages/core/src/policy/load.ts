import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DxError, ExitCode } from '../errors.js';
import { PolicySchema, type Policy, type PolicyDocument } from './schema.js';
import { policySchemaWith, type PolicySection } from './sections.js';
import { readYamlFile } from './yaml.js';
import { decimal } from '../config/numbers.js';
import { expandHome, xdgDirectory } from '../config/xdg.js';

export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../policy/default.yaml', import.meta.url));

/** Parse one policy file; every error names file, line and column (also in the registered sections). */
export function readPolicyFile(file: string, sections: readonly PolicySection<unknown>[] = []): PolicyDocument {
  return readYamlFile(file, policySchemaWith(PolicySchema, sections), 'policy');
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

export function userPolicyFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return path.resolve(explicit);
  if (env.DX_POLICY_FILE) return path.resolve(env.DX_POLICY_FILE);
  const configHome = xdgDirectory('XDG_CONFIG_HOME', '.config', env);
  const candidate = path.join(configHome, 'dx-runner', 'policy.yaml');
  return fs.existsSync(candidate) ? candidate : undefined;
}

export interface LoadPolicyOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** The sections of the calling tool (dx-batch's batch, …): validated, defaulted and resolved. */
  sections?: readonly PolicySection<unknown>[];
}

/** A value the shipped default policy must hold; its absence is a broken installation, not a user error. */
function shipped<T>(value: T | undefined, key: string): T {
  if (value === undefined) throw new Error(`the default policy ${DEFAULT_POLICY_FILE} lacks ${key}`);
  return value;
}

/**
 * The default policy, overridden by the user's file if any, plus env overrides. The registered
 * sections' defaults sit under both files. Defaults live in one place each: core's in
 * policy/default.yaml, a tool's in its section.
 */
export function loadPolicy(options: LoadPolicyOptions = {}): Policy {
  const env = options.env ?? process.env;
  const registered = options.sections ?? [];
  const sources = [DEFAULT_POLICY_FILE];
  let document = mergePolicy(
    Object.fromEntries(registered.map((s) => [s.key, s.defaults])) as PolicyDocument,
    readPolicyFile(DEFAULT_POLICY_FILE, registered),
  );
  const user = userPolicyFile(options.file, env);
  if (user) {
    document = mergePolicy(document, readPolicyFile(user, registered));
    sources.push(user);
  }
  const extra = (env.DX_RUNNER_EXTRA_ALLOWED_PREFIXES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const limits = shipped(document.limits, 'limits');
  const retention = shipped(document.retention, 'retention');
  const fleet = shipped(document.fleet, 'fleet');
  const fleetSsh = shipped(fleet.ssh, 'fleet.ssh');
  const sections = new Map<string, unknown>();
  const policy: Policy = {
    sources,
    document,
    worktrees: {
      allowedPrefixes: [...(document.worktrees?.allowed_prefixes ?? []), ...extra].map((p) => expandHome(p, env)),
      forbiddenRepos: (document.worktrees?.forbidden_repos ?? []).map((p) => expandHome(p, env)),
    },
    defaults: { maxParallel: shipped(document.defaults?.max_parallel, 'defaults.max_parallel') },
    providers: document.providers ?? {},
    fallbackChain: document.fallback_chain ?? [],
    limits: {
      maxLogMb: shipped(limits.max_log_mb, 'limits.max_log_mb'),
      maxOutputMb: shipped(limits.max_output_mb, 'limits.max_output_mb'),
      minFreeMb: shipped(limits.min_free_mb, 'limits.min_free_mb'),
    },
    retention: {
      jobsDays: shipped(retention.jobs_days, 'retention.jobs_days'),
      wavesDays: shipped(retention.waves_days, 'retention.waves_days'),
      nightsDays: shipped(retention.nights_days, 'retention.nights_days'),
      keepLast: shipped(retention.keep_last, 'retention.keep_last'),
    },
    fleet: {
      hosts: Object.fromEntries(
        Object.entries(fleet.hosts ?? {}).map(([name, h]) => [
          name,
          {
            name,
            ssh: h.ssh,
            maxParallel: h.max_parallel,
            providers: h.providers,
            dxRunner: h.dx_runner ?? 'dx-runner',
          },
        ]),
      ),
      ssh: {
        config: fleetSsh.config ? expandHome(fleetSsh.config, env) : undefined,
        connectTimeoutSec: shipped(fleetSsh.connect_timeout_sec, 'fleet.ssh.connect_timeout_sec'),
        controlPersistSec: shipped(fleetSsh.control_persist_sec, 'fleet.ssh.control_persist_sec'),
      },
      hostDownGraceMinutes: shipped(fleet.host_down_grace_minutes, 'fleet.host_down_grace_minutes'),
    },
    sections,
  };
  for (const section of registered)
    sections.set(section.key, section.resolve((document[section.key] ?? {}) as Record<string, unknown>, policy));
  return policy;
}

/** DX_RUNNER_MAX_PARALLEL_<PROVIDER> wins over the policy; provider names map `-` to `_`. */
export function maxParallelFor(policy: Policy, provider: string, env: NodeJS.ProcessEnv = process.env): number {
  const key = `DX_RUNNER_MAX_PARALLEL_${provider.toUpperCase().replace(/-/g, '_')}`;
  const fromEnv = env[key];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = decimal(fromEnv);
    if (n === undefined || !Number.isInteger(n) || n < 1) {
      throw new DxError(`${key} must be a positive integer, got "${fromEnv}"`, {
        exitCode: ExitCode.general,
        reasonCode: 'invalid_env',
      });
    }
    return n;
  }
  return policy.providers[provider]?.max_parallel ?? policy.defaults.maxParallel;
}
