import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import { LIMIT_ENV } from '../jobs/limits.js';
import { decimal } from './numbers.js';

/**
 * The environment variables a tool reads, each with the check its value must pass. A value that
 * fails is refused before anything runs (exit 1, invalid_env), never discovered by a detached
 * watcher later.
 */
export type EnvKind =
  | 'positive-number'
  | 'positive-integer'
  | 'log-level'
  | 'flag'
  | 'path'
  /** A state root: a relative one would follow the working directory (cron and a shell apart). */
  | 'absolute-path'
  | 'absolute-paths'
  | 'text';

export interface EnvVarSpec {
  name: string;
  kind: EnvKind;
  default: string;
  description: string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** dx-runner's own variables (the siblings add theirs when they validate). */
export const DX_RUNNER_ENV: readonly EnvVarSpec[] = [
  {
    name: 'DX_RUNNER_STATE_DIR',
    kind: 'absolute-path',
    default: '${XDG_STATE_HOME:-~/.local/state}/dx-runner',
    description: 'state root',
  },
  { name: 'DX_POLICY_FILE', kind: 'path', default: '-', description: 'policy file merged over the default' },
  {
    name: 'DX_RUNNER_EXTRA_ALLOWED_PREFIXES',
    kind: 'absolute-paths',
    default: '-',
    description: "comma-separated worktree prefixes added to the policy's",
  },
  {
    name: 'DX_RUNNER_DEFAULT_WORKTREE',
    kind: 'path',
    default: '-',
    description: 'worktree when --worktree is not given (else the git worktree containing cwd)',
  },
  ...LIMIT_ENV.map(([, name, fallback, description]) => ({
    name,
    kind: 'positive-number' as const,
    default: String(fallback),
    description,
  })),
  {
    name: 'DX_RUNNER_SIMULATE',
    kind: 'text',
    default: '-',
    description: 'rehearsal: provider=scenario,… replaces those providers by the simulator playing the scenario',
  },
  {
    name: 'DX_RUNNER_KEEP_JOB_HOME',
    kind: 'flag',
    default: '0',
    description: "1 keeps the agent's private HOME after the job (for debugging)",
  },
  {
    name: 'DX_RUNNER_LOG_LEVEL',
    kind: 'log-level',
    default: 'info',
    description: `level of the watcher's diagnostics (${LOG_LEVELS.join(', ')})`,
  },
  { name: 'DX_RUNNER_PROFILES_DIR', kind: 'path', default: '-', description: 'first directory searched for profiles' },
  {
    name: 'DX_RUNNER_WAIT_POLL_SEC',
    kind: 'positive-number',
    default: '5',
    description: 'wait: the slow poll behind file-system notifications (catches a watcher that died)',
  },
];

/** Per-provider caps are a family of names: DX_RUNNER_MAX_PARALLEL_<PROVIDER>. */
const MAX_PARALLEL_PREFIX = 'DX_RUNNER_MAX_PARALLEL_';

function problem(kind: EnvKind, raw: string): string | undefined {
  switch (kind) {
    case 'positive-number': {
      const n = decimal(raw);
      return n !== undefined && n > 0 ? undefined : 'must be a positive number';
    }
    case 'positive-integer': {
      const n = decimal(raw);
      return n !== undefined && Number.isInteger(n) && n > 0 ? undefined : 'must be a positive integer';
    }
    case 'log-level':
      return LOG_LEVELS.includes(raw) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}`;
    case 'flag':
      return raw === '0' || raw === '1' ? undefined : 'must be 0 or 1';
    case 'path':
      return raw.includes('\0') ? 'must be a file system path' : undefined;
    case 'absolute-path':
      return raw.includes('\0') || !(path.isAbsolute(raw) || raw === '~' || raw.startsWith('~/'))
        ? 'must be an absolute path (or ~/…): a relative one follows the working directory, so cron and a shell would use different directories'
        : undefined;
    case 'absolute-paths':
      return raw
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean)
        .every((p) => path.isAbsolute(p) || p.startsWith('~/'))
        ? undefined
        : 'must be a comma-separated list of absolute paths';
    case 'text':
      return undefined;
  }
}

/** Refuse the first variable whose value does not pass its check (unset and empty values pass). */
export function validateEnv(env: NodeJS.ProcessEnv = process.env, specs: readonly EnvVarSpec[] = DX_RUNNER_ENV): void {
  const checks: Array<[string, EnvKind]> = specs.map((s) => [s.name, s.kind]);
  if (specs === DX_RUNNER_ENV) {
    for (const name of Object.keys(env))
      if (name.startsWith(MAX_PARALLEL_PREFIX)) checks.push([name, 'positive-integer']);
  }
  for (const [name, kind] of checks) assertEnvValue(name, kind, env);
}

/** Refuse `name` when its value does not pass the check of its kind (unset and empty values pass). */
export function assertEnvValue(name: string, kind: EnvKind, env: NodeJS.ProcessEnv = process.env): void {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return;
  const why = problem(kind, raw.trim());
  if (why) {
    throw new DxError(`${name} ${why}, got ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}…` : raw)}`, {
      exitCode: ExitCode.general,
      reasonCode: 'invalid_env',
      nextAction: `fix_or_unset_${name}`,
    });
  }
}
