import { z } from '../zod.js';
import { HEALTH_STATES } from '../health/states.js';

/** One job as status/check/report show it (beads, provider, state, reason_code, …). */
export const JobViewSchema = z.object({
  beads: z.string(),
  provider: z.string(),
  state: z.enum(HEALTH_STATES),
  reason_code: z.string(),
  next_action: z.string(),
  /** The next action as a sentence for people; scripts match on next_action. */
  next_action_text: z.string(),
  run_instance: z.string().nullable(),
  started_at: z.string().nullable(),
  elapsed_sec: z.number().int().nullable(),
  retries: z.number().int(),
  pid: z.number().int().nullable(),
  watcher_pid: z.number().int().nullable(),
  host: z.string().nullable(),
  cwd: z.string().nullable(),
  worktree: z.string().nullable(),
  selected_model: z.string().nullable(),
  fallback_reason: z.string().nullable(),
  provider_switch_from: z.array(z.string()),
  events: z.number().int(),
  tool_calls: z.number().int(),
  last_event_at: z.string().nullable(),
  last_event_kind: z.string().nullable(),
  mutations: z.number().int(),
  log_bytes: z.number().int(),
  /** Bytes of output dropped from the log to keep it under limits.max_log_mb (0: the log is whole). */
  log_bytes_dropped: z.number().int(),
  rate_limited_until: z.string().nullable(),
  /**
   * Present only for a live job whose agent is repeating tool calls, the worktree unchanged: how many
   * calls in a row, and the latest (its tool and the start of its arguments).
   */
  repeating: z.object({ calls: z.number().int(), call: z.string() }).optional(),
  exit_code: z.number().int().nullable(),
  outcome_state: z.string().nullable(),
  completed_at: z.string().nullable(),
  duration_sec: z.number().int().nullable(),
  log: z.string(),
  /** Present only when a state file of the job cannot be read: which one and why (it is left as it is). */
  corrupt: z.object({ file: z.string(), message: z.string() }).optional(),
});
export type JobView = z.infer<typeof JobViewSchema>;
