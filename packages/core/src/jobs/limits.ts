import { decimal } from '../config/numbers.js';
import { DxError, ExitCode } from '../errors.js';

/** Time limits of a job, read from the DX_RUNNER_* env vars when the job starts and recorded in its meta. */
export interface JobLimits {
  maxRuntimeMinutes: number;
  noMutationTimeoutMinutes: number;
  stallMinutes: number;
  maxRepeatedToolCalls: number;
  startupGraceSec: number;
  finalExitGraceSec: number;
  killGraceSec: number;
  mutationPollSec: number;
  heartbeatIntervalMs: number;
  freezeGapSec: number;
  gitTimeoutSec: number;
}

export const LIMIT_ENV: ReadonlyArray<readonly [keyof JobLimits, string, number, string]> = [
  [
    'maxRuntimeMinutes',
    'DX_RUNNER_MAX_RUNTIME_MINUTES',
    120,
    'a job running longer is terminated (outcome timeout, exit 124)',
  ],
  [
    'noMutationTimeoutMinutes',
    'DX_RUNNER_NO_MUTATION_TIMEOUT_MINUTES',
    30,
    'a live job with no worktree change after this long is no_op (not while its tools are using CPU)',
  ],
  [
    'stallMinutes',
    'DX_RUNNER_STALL_MINUTES',
    20,
    'a live job with no provider event for this long is stalled (check --stall-minutes overrides)',
  ],
  [
    'maxRepeatedToolCalls',
    'DX_RUNNER_MAX_REPEATED_TOOL_CALLS',
    10,
    'a live job whose agent made this many tool calls in a row that are one call repeated or two in turn, the worktree unchanged, is stalled (repeating_tool_calls)',
  ],
  [
    'startupGraceSec',
    'DX_RUNNER_STARTUP_GRACE_SEC',
    300,
    'a job is launching until its first event or this many seconds',
  ],
  [
    'finalExitGraceSec',
    'DX_RUNNER_FINAL_EXIT_GRACE_SEC',
    30,
    'a CLI still alive this long after its final result event is terminated',
  ],
  ['killGraceSec', 'DX_RUNNER_KILL_GRACE_SEC', 10, 'seconds between SIGTERM and SIGKILL of a job process group'],
  [
    'mutationPollSec',
    'DX_RUNNER_MUTATION_POLL_SEC',
    15,
    'how often the watcher checks the worktree for changes (also after each tool call; a check taking T seconds is followed by none for 5T)',
  ],
  [
    'heartbeatIntervalMs',
    'DX_RUNNER_HEARTBEAT_INTERVAL_MS',
    1000,
    'minimum milliseconds between heartbeat file writes',
  ],
  [
    'freezeGapSec',
    'DX_RUNNER_FREEZE_GAP_SEC',
    30,
    'a watcher whose clock jumps this far (a suspend, a paused VM) counts the time as frozen: neither a stall nor runtime',
  ],
  [
    'gitTimeoutSec',
    'DX_RUNNER_GIT_TIMEOUT_SEC',
    300,
    "how long one of dx-runner's git calls may take (the watcher's status of the worktree, a gate's diff); past it git and what it ran (a clean filter, a hook) are ended",
  ],
];

export function positiveNumberFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = decimal(raw);
  if (value === undefined || value <= 0) {
    throw new DxError(`${name} must be a positive number, got "${raw}"`, {
      exitCode: ExitCode.general,
      reasonCode: 'invalid_env',
      nextAction: `fix_${name}`,
    });
  }
  return value;
}

export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): JobLimits {
  const limits = {} as JobLimits;
  for (const [key, name, fallback] of LIMIT_ENV) limits[key] = positiveNumberFromEnv(env, name, fallback);
  return limits;
}
