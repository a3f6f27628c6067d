import { evaluateHealth, type HealthOptions } from '../health/evaluate.js';
import { nextActionText } from '../health/next-actions.js';
import type { JobView } from '../schemas/job-view.js';
import { jobPaths, listBeadsInProviderDir, listProviderDirs } from '../state/layout.js';
import { logBytesOnDisk } from './capped-log.js';
import { byTime, NewestFinished } from './newest-finished.js';
import { findLatestJob, finishedRecords, listJobLocations, loadJob, type JobSnapshot } from './store.js';

/** The JSON view of a job: the health verdict plus the facts it was derived from. */
export function toJobView(job: JobSnapshot, options: HealthOptions = {}): JobView {
  const now = options.now ?? Date.now();
  const health = evaluateHealth(job, { ...options, now });
  const { meta, heartbeat: hb } = job;
  // a restart under way: the outcome on record is the replaced instance's, not the job's end
  const outcome = job.restartInProgress ? undefined : job.outcome;
  const started = meta ? Date.parse(meta.started_at) : NaN;
  const completed = outcome ? Date.parse(outcome.completed_at) : NaN;
  const end = Number.isFinite(completed) ? completed : now;
  return {
    beads: job.paths.beads,
    provider: job.paths.provider,
    state: health.state,
    reason_code: health.reasonCode,
    next_action: health.nextAction,
    next_action_text: nextActionText(health.nextAction) ?? '',
    run_instance: meta?.run_instance ?? null,
    started_at: meta?.started_at ?? null,
    elapsed_sec: Number.isFinite(started) ? Math.max(0, Math.round((end - started) / 1000)) : null,
    retries: meta?.retries ?? 0,
    pid: !outcome && job.agentAlive ? (hb?.agent_pid ?? null) : null,
    watcher_pid: !outcome && job.watcherAlive ? (meta?.watcher_pid ?? null) : null,
    host: outcome?.host ?? meta?.host ?? null,
    cwd: outcome?.cwd ?? meta?.cwd ?? null,
    worktree: outcome?.worktree ?? meta?.worktree ?? null,
    selected_model: outcome?.selected_model ?? meta?.selected_model ?? null,
    fallback_reason: outcome?.fallback_reason ?? meta?.fallback_reason ?? null,
    provider_switch_from: meta?.provider_switch_from ?? job.otherProviders,
    events: outcome?.events ?? hb?.events ?? 0,
    tool_calls: outcome?.tool_calls ?? hb?.tool_calls ?? 0,
    last_event_at: hb?.last_event_at ?? null,
    last_event_kind: hb?.last_event_kind ?? null,
    mutations: outcome?.mutations ?? hb?.mutations ?? 0,
    log_bytes: outcome?.log_bytes ?? logBytesOnDisk(job.paths.log),
    log_bytes_dropped: outcome?.log_bytes_dropped ?? hb?.log_bytes_dropped ?? 0,
    rate_limited_until: !outcome ? (hb?.rate_limited_until ?? null) : null,
    ...(!outcome && hb?.repeated_tool_calls !== undefined && hb.repeated_tool_call !== undefined
      ? { repeating: { calls: hb.repeated_tool_calls, call: hb.repeated_tool_call } }
      : {}),
    exit_code: outcome?.exit_code ?? null,
    outcome_state: outcome?.state ?? null,
    completed_at: outcome?.completed_at ?? null,
    duration_sec: outcome?.duration_sec ?? null,
    log: job.paths.log,
    ...(job.corrupt ? { corrupt: job.corrupt } : {}),
  };
}

/**
 * The latest instance of each named job, in the order asked, and the ids with no record at all: what a
 * wave polls once per cycle instead of one `check` per job.
 */
export function jobViewsOf(
  root: string | undefined,
  beadsIds: readonly string[],
  options: HealthOptions = {},
): { jobs: JobView[]; missing: string[] } {
  const jobs: JobView[] = [];
  const missing: string[] = [];
  for (const beads of new Set(beadsIds)) {
    const job = findLatestJob(root, beads);
    if (job) jobs.push(toJobView(job, options));
    else missing.push(beads);
  }
  return { jobs, missing };
}

/**
 * `dx-runner status`: every job that has not ended (oldest first), then the `recent` latest finished
 * ones (newest first); `finished` counts all finished jobs. Reads state files only, and of a finished
 * job not shown only its outcome (finishedRecords says when that is enough): status reads what it
 * shows, so a state dir full of finished jobs costs one small read per job.
 */
export function jobStatus(
  root: string | undefined,
  options: HealthOptions & { recent?: number } = {},
): { live: JobView[]; recent: JobView[]; finished: number } {
  // a shown job that its full read finds not ended means an outcome was trusted wrongly (a meta
  // garbled after its job ended): then every finished job is read with its meta
  return listStatus(root, options, true) ?? listStatus(root, options, false)!;
}

function listStatus(
  root: string | undefined,
  options: HealthOptions & { recent?: number },
  trustOutcomes: boolean,
): { live: JobView[]; recent: JobView[]; finished: number } | undefined {
  const live: JobView[] = [];
  const newest = new NewestFinished(options.recent ?? 0);
  let finished = 0;
  for (const location of listJobLocations(root)) {
    const records = finishedRecords(location.paths, trustOutcomes && !location.pidFile);
    if (records) {
      finished++;
      newest.offer({ ...location, completedAt: records.outcome.completed_at, records });
      continue;
    }
    const view = toJobView(loadJob(location.paths, location.otherProviders), options);
    if (view.outcome_state === null) live.push(view);
    else {
      finished++;
      newest.offer({ ...location, completedAt: view.completed_at });
    }
  }
  live.sort((a, b) => byTime(a.started_at, b.started_at));
  const recent: JobView[] = [];
  for (const { paths, otherProviders, records } of newest.entries) {
    const view = toJobView(loadJob(paths, otherProviders, records), options);
    if (trustOutcomes && view.outcome_state === null) return undefined;
    recent.push(view);
  }
  return { live, recent, finished };
}

/**
 * The jobs that have a live process (agent or watcher) on this machine, read from the jobs whose
 * agent was spawned and whose instance has not been cleaned up (their pid file is there): what a
 * count of live processes needs. Finished jobs are never read, so a state dir holding thousands of
 * them costs one directory scan per provider — where `status` must read every job to tell the
 * finished from the rest.
 */
export function jobsWithProcesses(root: string | undefined, options: HealthOptions = {}): JobView[] {
  if (!root) return [];
  const views: JobView[] = [];
  for (const provider of listProviderDirs(root))
    for (const beads of listBeadsInProviderDir(root, provider, '.pid')) {
      const view = toJobView(loadJob(jobPaths(root, provider, beads)), options);
      if (view.pid !== null || view.watcher_pid !== null) views.push(view);
    }
  return views;
}
