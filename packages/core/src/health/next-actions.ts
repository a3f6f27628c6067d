import type { FailureClass } from '../providers/contract.js';

/** What an operator should do next, per reason code. Every reason core emits has an entry. */
const BY_REASON: Record<string, string> = {
  process_exit: 'review_changes_and_run_the_gates',
  completed_then_hung_after_final_result: 'review_changes_and_run_the_gates',
  exit_zero_no_mutations: 'redispatch_with_guardrails_or_review_prompt_for_no_work',
  writes_refused_no_mutations: 'grant_the_agent_write_permission_then_restart',
  awaiting_first_event: 'wait_for_startup',
  launch_in_progress: 'wait_for_startup',
  progressing: 'monitor',
  mutating_without_events: 'monitor',
  finishing_after_final_result: 'wait_for_exit',
  rate_limit_backoff: 'wait_for_rate_limit_reset_or_switch_provider',
  stopping: 'wait_for_outcome',
  no_events_no_mutation: 'restart_or_inspect_logs_likely_blocked',
  no_progress_events: 'run_dx_runner_restart_or_finalize',
  no_mutation_timeout: 'restart_with_a_narrower_prompt_or_stop',
  max_runtime_exceeded: 'review_logs_then_restart_with_a_smaller_task',
  watcher_lost: 'run_dx_runner_prune_then_restart',
  launch_incomplete: 'run_dx_runner_prune_then_start_again',
  watcher_terminated: 'review_logs_and_restart_if_needed',
  manual_stop: 'job_stopped_by_operator_review_logs',
  forced_finalization: 'review_logs_and_restart_if_needed',
  restarted: 'check_the_new_instance',
  max_retries_exhausted: 'manual_intervention_required',
  state_file_corrupt: 'inspect_or_remove_the_corrupt_state_file',
  provider_runtime_load_failed: 'reinstall_the_provider_plugin',
  launch_preparation_failed: 'check_the_worktree_and_state_dir_then_start_again',
  watcher_crashed: 'inspect_the_watcher_log_then_start_again',
  process_exit_nonzero: 'inspect_logs_and_restart',
  provider_not_found: 'install_the_provider_plugin_or_fix_the_provider_id',
};

const BY_CLASS: Record<FailureClass, string> = {
  rate_limited: 'retry_backoff_or_switch_provider',
  auth_missing: 'configure_provider_credentials',
  auth_invalid: 'check_api_key_and_quota',
  model_unavailable: 'use_an_allowed_model_or_switch_provider',
  network: 'check_network_then_retry',
  server_error: 'retry_backoff_or_switch_provider',
  binary_missing: 'install_the_provider_cli',
  untrusted_workspace: 'trust_the_workspace_for_headless_runs',
  permission_denied: 'grant_the_agent_write_permission_then_restart',
  turn_limit: 'raise_the_turn_limit_or_split_the_task',
  timeout: 'retry_with_a_smaller_task',
  crashed: 'inspect_logs_and_restart',
};

export function nextActionFor(reasonCode: string, failureClass?: string, explicit?: string): string {
  if (explicit) return explicit;
  if (BY_REASON[reasonCode]) return BY_REASON[reasonCode];
  if (reasonCode.startsWith('blocked_')) return 'manual_intervention_required';
  if (failureClass && failureClass in BY_CLASS) return BY_CLASS[failureClass as FailureClass];
  return 'inspect_logs_and_decide';
}
