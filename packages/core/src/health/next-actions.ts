import type { FailureClass } from '../providers/contract.js';

/**
 * Every next action core names: a stable identifier (scripts match on it) and the sentence a person
 * reads. An identifier from a provider plugin or a sibling tool that is not listed reads as its words.
 */
export const NEXT_ACTIONS: Record<string, string> = {
  review_changes_and_run_the_gates: 'Review the changes, then run `dx-runner scope-gate` and `evidence-gate`.',
  read_the_report: "Read the agent's report; a read-only task made no changes by design.",
  look_at_what_the_read_only_task_changed:
    'A read-only task (a review) changed files: look at them (`dx-runner report`) before trusting its answer; they are no part of the reviewed work.',
  'verify_the_processes_by_hand_then_finalize_with_--no-signal':
    'Check the recorded pids by hand; once they are gone, run `dx-runner finalize --no-signal`.',
  retry_later: 'Another dx-runner command holds this job; retry in a moment.',
  find_why_the_agent_floods_its_output_then_restart:
    'Find why the agent printed so much (a loop?), then restart the job.',
  free_disk_space_where_the_state_lives_then_restart:
    "Free disk space on the state directory's filesystem, then restart the job.",
  free_disk_space_or_prune_old_jobs_then_start_again:
    'Free disk space or run `dx-runner prune --retention`, then start again.',
  redispatch_with_guardrails_or_review_prompt_for_no_work:
    'The agent changed nothing: tighten the prompt or redispatch with guardrails.',
  grant_the_agent_write_permission_then_restart:
    'The agent was refused writes: give it write permission, then restart.',
  wait_for_startup: 'The agent is starting; check again in a minute.',
  check_that_the_host_is_up_and_its_sshd_answers:
    'The host did not answer over SSH: check that it is up, on the network and running sshd.',
  check_the_ssh_key_and_agent_for_the_host:
    'SSH refused the login: check the key (ssh-add -l) and the authorized_keys on the host.',
  verify_the_host_key_then_update_known_hosts:
    'The host key is unknown or changed: verify it out of band, then update known_hosts (ssh-keygen -R).',
  install_the_same_dx_runner_release_on_the_host:
    'The host runs another JSON contract: install the same dx-runner release there (see `dx-runner version`).',
  install_the_openssh_client: 'Install the OpenSSH client (Debian: apt install openssh-client).',
  add_the_host_to_the_policy_fleet_hosts: 'Add the host under fleet.hosts in the policy, or use a listed one.',
  monitor: 'The job is working; keep monitoring.',
  wait_for_exit: 'The agent has reported its result and is exiting; wait.',
  wait_for_rate_limit_reset_or_switch_provider:
    'The provider is rate-limited: wait for the reset or restart on another provider.',
  wait_for_outcome: 'The job is stopping; wait for its outcome.',
  restart_or_inspect_logs_likely_blocked:
    'No events and no changes: read `dx-runner report` and the log, then restart.',
  run_dx_runner_restart_or_finalize:
    'The agent stopped reporting progress: run `dx-runner restart` or `dx-runner finalize`.',
  restart_with_a_narrower_prompt_or_stop:
    'Nothing changed for too long: restart with a narrower prompt, or stop the job.',
  read_the_log_then_restart_with_a_clearer_prompt_or_stop:
    'The agent repeats the same tool calls and changes nothing: read `dx-runner logs`, then restart with a clearer prompt, or stop the job.',
  review_logs_then_restart_with_a_smaller_task:
    'The job hit its runtime limit: review the log, then restart with a smaller task.',
  run_dx_runner_prune_then_restart: 'The watcher is gone: run `dx-runner prune`, then restart the job.',
  run_dx_runner_prune_then_start_again: 'The launch never completed: run `dx-runner prune`, then start again.',
  review_logs_and_restart_if_needed: 'Review the log and restart the job if its work is unfinished.',
  job_stopped_by_operator_review_logs: 'An operator stopped this job; review the log before deciding what is next.',
  check_the_new_instance: 'This run was replaced by a restart; check the new instance.',
  manual_intervention_required: 'Retries are exhausted or the job is blocked: a person must look at it.',
  inspect_or_remove_the_corrupt_state_file:
    'A state file is unreadable (named under `corrupt`): inspect it, then repair or remove it; dx-runner leaves it as it is. Its job may still run: `dx-runner stop` ends what its heartbeat names.',
  reinstall_the_provider_plugin: "The provider's runtime could not be loaded: reinstall its plugin.",
  check_the_worktree_and_state_dir_then_start_again:
    'Check that the worktree and the state directory are writable, then start again.',
  inspect_the_watcher_log_then_start_again: "Read the job's `.watcher.log`, then start again.",
  inspect_the_watcher_log_then_run_dx_runner_prune: "Read the job's `.watcher.log`, then run `dx-runner prune`.",
  report_a_bug_with_the_watcher_log:
    "dx-runner handed its watcher a bad launch spec: report a bug with the job's `.watcher.log`.",
  inspect_logs_and_restart: 'Read the job log, then restart the job.',
  install_the_provider_plugin_or_fix_the_provider_id: 'Install the provider plugin, or correct the provider id.',
  proceed: 'Nothing to fix; carry on.',
  proceed_with_dispatch: 'Beads is healthy; dispatch.',
  rebase_the_worktree_onto_the_required_baseline: 'Rebase the worktree onto the required baseline commit.',
  fetch_the_required_commit_into_the_worktree: 'Fetch the required commit into the worktree.',
  check_the_worktree_has_a_commit: 'The worktree has no commit yet; check that it is the right one.',
  verify_the_reported_sha_or_fetch_it: 'Verify the commit the agent reported, or fetch it.',
  reported_commit_is_not_on_this_branch_review_the_agent_report:
    "The reported commit is not on this branch: review the agent's report.",
  'pass_--reported-commit_or_check_the_job_made_commits':
    'Pass `--reported-commit`, or check that the job made commits.',
  'pass_--feature-key_or_--beads': 'Pass `--feature-key` or `--beads`.',
  'use_a_beads_id_like_bd-abc.1': 'Use a beads id like `bd-abc.1`.',
  'amend_commits_with_a_Feature-Key_trailer': 'Amend the commits to carry a `Feature-Key:` trailer.',
  verify_the_agent_committed_its_work: 'No commits in the range: verify that the agent committed its work.',
  review_allowed_paths_and_worktree_changes:
    'A change lies outside the allowed paths: review the paths and the changes.',
  review_mutation_count_and_adjust_budget:
    'More files changed than the budget allows: review them, or raise the budget.',
  fix_the_allowed_paths_file: 'The allowed-paths file cannot be read: fix it.',
  provide_evidence_for_signoff_claims: 'The sign-off claims things without evidence: add the evidence.',
  write_the_signoffs_claims:
    'The sign-off claims nothing: have it list what was done as checked boxes or VERIFIED: lines.',
  ensure_signoff_file_and_outcome_exist: 'Make sure the sign-off file and the job outcome both exist.',
  wait_for_the_job_to_end_then_rerun_the_gate: 'The job has not ended yet: wait, then run the gate again.',
  pass_an_existing_git_worktree: 'Pass a worktree that exists and is a git checkout.',
  keep_one_worktree_per_item: "Several checkouts sit under the item's folder: keep exactly one.",
  pass_a_git_worktree: 'The directory is not a git checkout: pass a git worktree.',
  find_what_removed_the_repository_then_restart:
    "The job's worktree stopped being a git checkout while the agent ran (its .git, or a linked worktree's repository, was removed): its work cannot be seen; restore it, then restart.",
  find_what_ended_the_agent_then_restart:
    'Something outside dx-runner ended the agent with a signal (out of memory? see `dmesg`): find it, then restart.',
  read_the_git_error_then_run_the_gate_again:
    'git could not say what the job changed (the detail names why: a damaged repository, a clean filter or hook that hangs past DX_RUNNER_GIT_TIMEOUT_SEC): fix that, then run the gate again.',
  find_the_git_filter_or_hook_that_hangs_then_restart:
    "git status in the job's worktree did not answer within DX_RUNNER_GIT_TIMEOUT_SEC, so what the agent changed cannot be known: find the clean filter (git-lfs, git-crypt) or fsmonitor hook that hangs, look at the worktree, then restart.",
  find_what_removed_the_job_records_then_restart:
    "The job's records (its meta, pid file, HOME) were removed while the agent ran, so no one could see or stop it: it was ended. Find what removed them (a clean-up script, a tmp cleaner), then restart.",
  find_what_replaced_the_worktree_then_restart:
    "The job's worktree (or its git repository) was removed and made again at the same path while the agent ran, so what it changed cannot be told from what was made: find what replaced it (a clean-up script, a fresh clone), then restart.",
  find_what_removed_the_worktree_then_restart:
    "The job's worktree was removed while the agent ran, so its work cannot be seen: find what removed it, restore the worktree, then restart.",
  install_the_beads_cli: 'Install the beads CLI (`bd`) or put it on PATH.',
  clone_or_restore_external_beads_repo: 'Clone or restore the external beads repository.',
  fix_beads_external_origin: 'Fix the origin remote of the external beads repository.',
  check_beads_db_connectivity: 'Beads cannot reach its database: check it.',
  'reinitialize_repo_binding_bd_migrate_--update-repo-id': 'Rebind the repository: `bd migrate --update-repo-id`.',
  check_beads_db_permissions: 'Beads cannot write its database: check its permissions.',
  use_a_valid_issue_id: 'Use an issue id that exists in beads.',
  retry_backoff_or_switch_provider: 'Retry after a back-off, or switch provider.',
  configure_provider_credentials: "Configure the provider's credentials (`dx-runner preflight` says which).",
  check_api_key_and_quota: "Check the API key and the account's quota.",
  use_an_allowed_model_or_switch_provider: 'Use a model on the policy allowlist, or switch provider.',
  check_network_then_retry: 'Check the network, then retry.',
  install_the_provider_cli: "Install the provider's CLI (`dx-runner preflight` says which version).",
  trust_the_workspace_for_headless_runs: 'Trust the workspace for headless runs.',
  raise_the_turn_limit_or_split_the_task: 'The agent ran out of turns: raise the limit or split the task.',
  shorten_the_prompt_or_use_a_model_with_a_larger_context:
    "The prompt, with what the agent gathered, is longer than the model's context window: shorten it, split the task, or use a model with a larger context.",
  retry_with_a_smaller_task: 'Retry with a smaller task.',
  inspect_logs_and_decide: 'Read the job log and decide.',
  'see_--help': 'Run the command with `--help` for its usage.',
  'pass_a_beads_issue_id_like_bd-abc.1': 'Pass a beads issue id like `bd-abc.1`.',
  nothing_to_stop: 'The job has already ended; nothing to stop.',
  retry_or_run_dx_runner_prune: 'Retry, or run `dx-runner prune`.',
  'pass_--owner_as_tool:id': 'Pass `--owner` as `tool:id`, e.g. `dx-batch:wave-1`.',
  report_a_bug_to_the_provider_plugin:
    "The provider plugin built a launch dx-runner cannot run: report it to the plugin's authors (nothing was started).",
  fix_the_provider_plugin_to_pass_the_prompt_on_stdin:
    'The provider plugin put the prompt on the command line: fix it to use stdin.',
  check_the_job_state: 'Check the job with `dx-runner check`.',
  verify_the_beads_id_or_start_the_job: 'No such job: verify the beads id, or start the job.',
  'run_dx_runner_profiles_--list': 'Run `dx-runner profiles --list` to see the profiles.',
  request_a_model_on_the_policy_allowlist: 'Request a model on the policy allowlist.',
  'add_fallback_chain_to_the_policy_or_pass_--provider': 'Add `fallback_chain` to the policy, or pass `--provider`.',
  pass_one_of_the_available_providers_or_install_its_plugin:
    'Pass one of the available providers, or install its plugin.',
  point_DX_RUNNER_STATE_DIR_at_a_private_directory_you_own:
    'Point `DX_RUNNER_STATE_DIR` at a private directory you own.',
  give_each_host_its_own_state_root:
    'Give each host a state root of its own (DX_RUNNER_STATE_DIR, DX_BATCH_DIR, NIGHTLY_DISPATCH_DIR on a local disk).',
};

/** What an operator should do next, per reason code. Every reason core emits has an entry. */
export const NEXT_ACTION_BY_REASON: Record<string, string> = {
  process_exit: 'review_changes_and_run_the_gates',
  read_only_ok: 'read_the_report',
  read_only_changed: 'look_at_what_the_read_only_task_changed',
  identity_unproven: 'verify_the_processes_by_hand_then_finalize_with_--no-signal',
  lock_busy: 'retry_later',
  output_flood: 'find_why_the_agent_floods_its_output_then_restart',
  disk_full: 'free_disk_space_where_the_state_lives_then_restart',
  disk_low: 'free_disk_space_or_prune_old_jobs_then_start_again',
  completed_then_hung_after_final_result: 'review_changes_and_run_the_gates',
  exit_zero_no_mutations: 'redispatch_with_guardrails_or_review_prompt_for_no_work',
  writes_refused_no_mutations: 'grant_the_agent_write_permission_then_restart',
  awaiting_first_event: 'wait_for_startup',
  launch_in_progress: 'wait_for_startup',
  restart_in_progress: 'wait_for_startup',
  progressing: 'monitor',
  mutating_without_events: 'monitor',
  tools_busy_without_events: 'monitor',
  tools_busy_before_first_change: 'monitor',
  finishing_after_final_result: 'wait_for_exit',
  rate_limit_backoff: 'wait_for_rate_limit_reset_or_switch_provider',
  stopping: 'wait_for_outcome',
  no_events_no_mutation: 'restart_or_inspect_logs_likely_blocked',
  no_progress_events: 'run_dx_runner_restart_or_finalize',
  repeating_tool_calls: 'read_the_log_then_restart_with_a_clearer_prompt_or_stop',
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
  invalid_watcher_spec: 'report_a_bug_with_the_watcher_log',
  provider_launch_invalid: 'report_a_bug_to_the_provider_plugin',
  process_exit_nonzero: 'inspect_logs_and_restart',
  provider_not_found: 'install_the_provider_plugin_or_fix_the_provider_id',
  baseline_ok: 'proceed',
  baseline_not_met: 'rebase_the_worktree_onto_the_required_baseline',
  required_baseline_missing: 'fetch_the_required_commit_into_the_worktree',
  runtime_commit_missing: 'check_the_worktree_has_a_commit',
  integrity_ok: 'proceed',
  reported_commit_not_found: 'verify_the_reported_sha_or_fetch_it',
  reported_not_ancestor: 'reported_commit_is_not_on_this_branch_review_the_agent_report',
  reported_commit_missing: 'pass_--reported-commit_or_check_the_job_made_commits',
  feature_key_ok: 'proceed',
  feature_key_missing: 'pass_--feature-key_or_--beads',
  feature_key_invalid_format: 'use_a_beads_id_like_bd-abc.1',
  feature_key_missing_in_commits: 'amend_commits_with_a_Feature-Key_trailer',
  no_commits_in_range: 'verify_the_agent_committed_its_work',
  scope_ok: 'proceed',
  path_outside_allowlist: 'review_allowed_paths_and_worktree_changes',
  worktree_unreadable: 'read_the_git_error_then_run_the_gate_again',
  mutation_budget_exceeded: 'review_mutation_count_and_adjust_budget',
  allowed_paths_file_unreadable: 'fix_the_allowed_paths_file',
  evidence_ok: 'proceed',
  unverified_claims: 'provide_evidence_for_signoff_claims',
  signoff_file_missing: 'ensure_signoff_file_and_outcome_exist',
  signoff_without_claims: 'write_the_signoffs_claims',
  outcome_missing: 'wait_for_the_job_to_end_then_rerun_the_gate',
  worktree_missing: 'pass_an_existing_git_worktree',
  worktree_gone: 'find_what_removed_the_worktree_then_restart',
  worktree_replaced: 'find_what_replaced_the_worktree_then_restart',
  records_removed: 'find_what_removed_the_job_records_then_restart',
  git_status_timed_out: 'find_the_git_filter_or_hook_that_hangs_then_restart',
  git_repository_gone: 'find_what_removed_the_repository_then_restart',
  agent_killed_by_signal: 'find_what_ended_the_agent_then_restart',
  worktree_found: 'proceed',
  worktree_ambiguous: 'keep_one_worktree_per_item',
  not_a_git_repo: 'pass_a_git_worktree',
  beads_ok: 'proceed_with_dispatch',
  beads_unavailable: 'install_the_beads_cli',
  beads_external_repo_missing: 'clone_or_restore_external_beads_repo',
  beads_external_remote_mismatch: 'fix_beads_external_origin',
  beads_db_error: 'check_beads_db_connectivity',
  beads_repo_mismatch: 'reinitialize_repo_binding_bd_migrate_--update-repo-id',
  beads_write_blocked: 'check_beads_db_permissions',
  beads_probe_not_found: 'use_a_valid_issue_id',
};

export const NEXT_ACTION_BY_CLASS: Record<FailureClass, string> = {
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
  output_flood: 'find_why_the_agent_floods_its_output_then_restart',
  disk_full: 'free_disk_space_where_the_state_lives_then_restart',
  context_exceeded: 'shorten_the_prompt_or_use_a_model_with_a_larger_context',
};

export function nextActionFor(reasonCode: string, failureClass?: string, explicit?: string): string {
  if (explicit) return explicit;
  if (NEXT_ACTION_BY_REASON[reasonCode]) return NEXT_ACTION_BY_REASON[reasonCode];
  if (reasonCode.startsWith('blocked_')) return 'manual_intervention_required';
  if (failureClass && failureClass in NEXT_ACTION_BY_CLASS) return NEXT_ACTION_BY_CLASS[failureClass as FailureClass];
  return 'inspect_logs_and_decide';
}

/** The sentence for a next-action identifier (`see_--help` → "Run the command with `--help` …"). */
export function nextActionText(id: string | null | undefined, own: Record<string, string> = {}): string | null {
  if (!id) return null;
  const known = own[id] ?? NEXT_ACTIONS[id];
  if (known) return known;
  const words = id.replace(/_/g, ' ');
  return `${words.charAt(0).toUpperCase()}${words.slice(1)}.`;
}
