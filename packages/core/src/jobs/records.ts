import { z } from '../zod.js';
import { parseKvList } from '../state/kv.js';
import { OUTCOME_STATES } from './outcome-state.js';
import { fieldKind, INVALID } from './record-decode.js';

export { OUTCOME_STATES, outcomeStateForExit, type OutcomeState } from './outcome-state.js';

/**
 * The state files of a job, stored as key=value lines:
 * - meta: the job definition, written by start/restart only;
 * - heartbeat: live progress, written by the watcher only;
 * - outcome: the final record, written once when the job ends.
 * Unknown keys are kept (looseObject) so older/newer versions can read each other's files.
 */
const INTEGER = /^-?\d+$/;
const NUMBER = /^-?\d+(\.\d+)?$/;
const int = fieldKind(z.string().regex(INTEGER, 'expected an integer').transform(Number), (v) =>
  INTEGER.test(v) ? Number(v) : INVALID,
);
const num = fieldKind(z.string().regex(NUMBER, 'expected a number').transform(Number), (v) =>
  NUMBER.test(v) ? Number(v) : INVALID,
);
const bool = fieldKind(
  z.enum(['true', 'false']).transform((v) => v === 'true'),
  (v) => (v === 'true' ? true : v === 'false' ? false : INVALID),
);
function kvList(v: string): string[] | typeof INVALID {
  try {
    return parseKvList(v);
  } catch {
    return INVALID;
  }
}
/** A list cut short (`["a.txt","b`) is a corrupt record like any other, not an exception out of every reader. */
const list = fieldKind(
  z.string().transform((v, ctx) => {
    const items = kvList(v);
    if (items !== INVALID) return items;
    ctx.issues.push({ code: 'custom', message: 'expected a list (a JSON array or comma-separated values)', input: v });
    return z.NEVER;
  }),
  kvList,
);

export const MetaSchema = z.looseObject({
  beads: z.string(),
  provider: z.string(),
  run_instance: z.string(),
  run_id: z.string(),
  started_at: z.string(),
  first_started_at: z.string().optional(),
  retries: int,
  host: z.string(),
  cwd: z.string(),
  worktree: z.string(),
  prompt_file: z.string().optional(),
  prompt_copy: z.string(),
  model: z.string().optional(),
  selected_model: z.string().optional(),
  fallback_reason: z.string().optional(),
  provider_switch_from: list.optional(),
  profile: z.string().optional(),
  runtime_module: z.string(),
  launch_command: z.string().optional(),
  watcher_pid: int.optional(),
  watcher_start_ticks: int.optional(),
  /** The boot the watcher's pid belongs to: after a reboot it names no process, whatever has that pid now. */
  boot_id: z.string().optional(),
  max_runtime_minutes: num,
  no_mutation_timeout_minutes: num,
  stall_minutes: num,
  /** An agent making this many identical tool calls in a row, the worktree unchanged, is stalled (older jobs: none). */
  max_repeated_tool_calls: num.optional(),
  /** How often the watcher polls the worktree and the tools' CPU (older jobs: none). */
  mutation_poll_sec: num.optional(),
  startup_grace_sec: num,
  required_baseline: z.string().optional(),
  allowed_paths_file: z.string().optional(),
  mutation_budget: int.optional(),
  /** Who started the job when it was not an operator: `dx-batch:<wave>`, `nightly-dispatch:<run>`. */
  owner: z.string().optional(),
  /** A read-only task (e.g. a review): exiting 0 without changes is success, not no_op. */
  expect_no_changes: bool.optional(),
  /** The simulator scenario this job plays (provider sim). */
  scenario: z.string().optional(),
  version: z.string().optional(),
});
export type MetaRecord = z.output<typeof MetaSchema>;

export const HeartbeatSchema = z.looseObject({
  run_instance: z.string(),
  watcher_pid: int,
  watcher_start_ticks: int,
  agent_pid: int.optional(),
  agent_start_ticks: int.optional(),
  /** The boot the watcher's and the agent's pids belong to. */
  boot_id: z.string().optional(),
  launched_at: z.string(),
  updated_at: z.string(),
  events: int,
  tool_calls: int,
  messages: int,
  provider_retries: int,
  last_event_at: z.string().optional(),
  last_event_kind: z.string().optional(),
  last_event_detail: z.string().optional(),
  rate_limited_until: z.string().optional(),
  rate_limit_detail: z.string().optional(),
  final_result_at: z.string().optional(),
  final_ok: bool.optional(),
  writes_refused: int,
  mutations: int,
  start_head: z.string().optional(),
  last_mutation_at: z.string().optional(),
  tokens_input: int.optional(),
  tokens_output: int.optional(),
  cost_usd: num.optional(),
  output_bytes: int.optional(),
  log_bytes_dropped: int.optional(),
  terminating: z.string().optional(),
  /** The agent's own end, written the moment the watcher sees it, before the watcher's verdict. */
  agent_exit_code: int.optional(),
  agent_exit_signal: z.string().optional(),
  agent_exited_at: z.string().optional(),
  /** When the watcher last woke from a freeze (a suspend, a paused VM): the stall clock starts again there. */
  resumed_at: z.string().optional(),
  /** Seconds the job spent frozen in all: not counted as its runtime. */
  frozen_sec: int.optional(),
  /** Seconds of CPU the agent's tools (the processes it started) have used: not the CLI's own. */
  tool_cpu_sec: num.optional(),
  /** When the agent's tools were last seen using CPU: a silent build is not a stall. */
  tools_busy_at: z.string().optional(),
  /** How many identical tool calls in a row the agent has just made, the worktree unchanged (2 or more). */
  repeated_tool_calls: int.optional(),
  /** That call: the tool and the start of its arguments. */
  repeated_tool_call: z.string().optional(),
});
export type HeartbeatRecord = z.output<typeof HeartbeatSchema>;

export const OutcomeSchema = z.looseObject({
  beads: z.string(),
  provider: z.string(),
  run_id: z.string(),
  exit_code: int,
  state: z.enum(OUTCOME_STATES),
  reason_code: z.string(),
  completed_at: z.string(),
  duration_sec: int,
  retries: int,
  selected_model: z.string(),
  fallback_reason: z.string(),
  run_instance: z.string(),
  host: z.string(),
  cwd: z.string(),
  worktree: z.string(),
  provider_switch_from: list,
  started_at: z.string().optional(),
  signal: z.string().optional(),
  failure_class: z.string().optional(),
  retry_after_sec: int.optional(),
  reset_at: z.string().optional(),
  summary: z.string().optional(),
  next_action: z.string().optional(),
  mutations: int.optional(),
  changed_files: list.optional(),
  /** Of the changed files, those the job created and left untracked (see MutationSnapshot). */
  new_untracked_files: int.optional(),
  commits: list.optional(),
  start_head: z.string().optional(),
  end_head: z.string().optional(),
  log_bytes: int.optional(),
  /** Bytes of agent output the log was given, and how many of them were dropped to keep it under limits.max_log_mb. */
  log_bytes_total: int.optional(),
  log_bytes_dropped: int.optional(),
  /** CPU time the watcher spent supervising the job. */
  watcher_cpu_ms: int.optional(),
  events: int.optional(),
  tool_calls: int.optional(),
  provider_retries: int.optional(),
  tokens_input: int.optional(),
  tokens_output: int.optional(),
  cost_usd: num.optional(),
  final_text: z.string().optional(),
  hung_after_final_result: bool.optional(),
  writes_refused: int.optional(),
  finalized_by: z.string().optional(),
  /** Seconds of duration_sec the job spent frozen with its machine (a suspend, a paused VM). */
  frozen_sec: int.optional(),
});
export type OutcomeRecord = z.output<typeof OutcomeSchema>;

/** A request left for the watcher before it is signalled (stop/finalize/restart/block). */
export const ControlSchema = z.looseObject({
  action: z.enum(['stop', 'finalize', 'restart', 'block', 'timeout']),
  reason: z.string(),
  exit_code: int,
  run_instance: z.string(),
  requested_at: z.string(),
});
export type ControlRecord = z.output<typeof ControlSchema>;

/** Written by the watchdog when a job ran out of retries. */
export const BlockedSchema = z.looseObject({
  run_instance: z.string(),
  reason: z.string(),
  retries: int,
  blocked_at: z.string(),
});
export type BlockedRecord = z.output<typeof BlockedSchema>;
