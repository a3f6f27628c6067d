import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DxError, ExitCode } from '../errors.js';
import { signalProcess, terminateGroup } from '../process/signals.js';
import { Redactor } from '../secrets/redact.js';
import { readFileIfExists, writeFileAtomic, writeFileExclusive } from '../state/atomic.js';
import { serializeKv, type KvValue } from '../state/kv.js';
import { jobPaths, listBeadsInProviderDir, listProviderDirs } from '../state/layout.js';
import { pruneStaleLocks } from '../state/lock.js';
import { limitsFromEnv } from './limits.js';
import { outcomeStateForExit, type OutcomeState } from './outcome-state.js';
import type { FinalizeOutput, PruneOutput, StopOutput } from '../schemas/outputs.js';
import type { ControlRecord, OutcomeRecord } from './records.js';
import { loadJob, readOutcome, requireJob, type JobSnapshot } from './store.js';

export interface EndRequest {
  action: ControlRecord['action'];
  reason: string;
  exitCode: number;
  state?: OutcomeState;
}

export interface EndResult {
  /** False when the job had already ended; its existing outcome is returned untouched. */
  ended: boolean;
  outcome: OutcomeRecord | undefined;
  /** Who wrote the outcome: the watcher, or this command because the watcher was gone or stuck. */
  writtenBy: 'watcher' | 'dx-runner' | 'none';
}

/**
 * An outcome for a job whose watcher can no longer write one (it died, or never started). Built
 * from meta + the last heartbeat; first writer wins, like every outcome write.
 */
export function writeOutcomeWithoutWatcher(job: JobSnapshot, request: EndRequest): boolean {
  const { meta, heartbeat: hb, paths } = job;
  if (!meta) return false;
  const now = Date.now();
  const started = Date.parse(meta.started_at);
  const redactor = Redactor.fromEnv();
  let logBytes = 0;
  try {
    logBytes = fs.statSync(paths.log).size;
  } catch {
    logBytes = 0;
  }
  const record: Record<string, KvValue> = {
    beads: meta.beads,
    provider: meta.provider,
    run_id: meta.run_id,
    exit_code: request.exitCode,
    state: request.state ?? outcomeStateForExit(request.exitCode),
    reason_code: request.reason,
    completed_at: new Date(now).toISOString(),
    duration_sec: Number.isFinite(started) ? Math.max(0, Math.round((now - started) / 1000)) : 0,
    retries: meta.retries,
    selected_model: meta.selected_model ?? meta.model ?? 'unknown',
    fallback_reason: meta.fallback_reason ?? 'none',
    run_instance: meta.run_instance,
    host: meta.host,
    cwd: meta.cwd,
    worktree: meta.worktree,
    provider_switch_from: meta.provider_switch_from && meta.provider_switch_from.length > 0 ? meta.provider_switch_from.join(',') : 'none',
    started_at: meta.started_at,
    mutations: hb?.mutations ?? 0,
    log_bytes: logBytes,
    events: hb?.events ?? 0,
    tool_calls: hb?.tool_calls ?? 0,
    provider_retries: hb?.provider_retries ?? 0,
    tokens_input: hb?.tokens_input,
    tokens_output: hb?.tokens_output,
    cost_usd: hb?.cost_usd,
    writes_refused: hb?.writes_refused ?? 0,
    summary: redactor.redact(`finalized by dx-runner ${request.action}: ${request.reason}`),
    finalized_by: request.action,
  };
  const written = writeFileExclusive(paths.outcome, serializeKv(record));
  writeFileAtomic(paths.rc, `${request.exitCode}\n`);
  cleanupInstance(job);
  return written;
}

/** Remove what only matters while a job runs; logs, meta and outcome stay. */
export function cleanupInstance(job: JobSnapshot): void {
  const { paths } = job;
  fs.rmSync(paths.pid, { force: true });
  fs.rmSync(paths.control, { force: true });
  fs.rmSync(paths.tmp, { recursive: true, force: true });
  if (process.env.DX_RUNNER_KEEP_JOB_HOME !== '1') fs.rmSync(paths.home, { recursive: true, force: true });
}

async function waitForOutcome(job: JobSnapshot, timeoutMs: number): Promise<OutcomeRecord | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const outcome = readOutcome(job.paths);
    if (outcome && outcome.run_instance === job.meta?.run_instance) {
      // the watcher publishes the outcome, then removes its pid file; wait briefly for that too
      const pidGone = Date.now() + 2000;
      while (fs.existsSync(job.paths.pid) && Date.now() < pidGone) await sleep(25);
      return outcome;
    }
    if (Date.now() >= deadline) return undefined;
    await sleep(50);
  }
}

function agentIdentity(job: JobSnapshot) {
  const hb = job.heartbeat;
  return hb?.agent_pid !== undefined ? { pid: hb.agent_pid, startTicks: hb.agent_start_ticks ?? 0 } : undefined;
}

/**
 * End a job: ask its watcher (control file + SIGTERM) so the outcome carries full evidence; if the
 * watcher is gone or does not answer in time, end the agent's process group ourselves (only after
 * proving it is ours) and write the outcome.
 */
export async function endJob(job: JobSnapshot, request: EndRequest, env: NodeJS.ProcessEnv = process.env): Promise<EndResult> {
  if (job.outcome) return { ended: false, outcome: job.outcome, writtenBy: 'none' };
  const meta = job.meta;
  if (!meta) throw new DxError(`cannot end job ${job.paths.beads}: ${job.corrupt?.message ?? 'no metadata'}`, { exitCode: ExitCode.general, reasonCode: 'state_file_corrupt' });
  const killGraceMs = limitsFromEnv(env).killGraceSec * 1000;
  if (job.watcherAlive && meta.watcher_pid !== undefined) {
    const control: Record<string, KvValue> = {
      action: request.action,
      reason: request.reason,
      exit_code: request.exitCode,
      run_instance: meta.run_instance,
      requested_at: new Date().toISOString(),
    };
    writeFileAtomic(job.paths.control, serializeKv(control));
    const watcher = { pid: meta.watcher_pid, startTicks: meta.watcher_start_ticks ?? 0 };
    if (signalProcess(watcher, 'SIGTERM') === 'sent') {
      const outcome = await waitForOutcome(job, killGraceMs + 5000);
      if (outcome) return { ended: true, outcome, writtenBy: 'watcher' };
      signalProcess(watcher, 'SIGKILL');
    }
  }
  const agent = agentIdentity(job);
  if (agent) await terminateGroup(agent, killGraceMs);
  writeOutcomeWithoutWatcher(job, request);
  return { ended: true, outcome: readOutcome(job.paths), writtenBy: 'dx-runner' };
}

export type StopResult = StopOutput;

/** `dx-runner stop`: end the whole process group of a running job; outcome `killed`/`manual_stop`. */
export async function stopJob(root: string | undefined, beads: string, env: NodeJS.ProcessEnv = process.env): Promise<StopResult> {
  const job = requireJob(root, beads);
  if (job.outcome) {
    throw new DxError(`job ${beads} is not running (it ended: ${job.outcome.state}, ${job.outcome.reason_code})`, {
      exitCode: ExitCode.general,
      reasonCode: 'job_not_running',
      nextAction: 'nothing_to_stop',
    });
  }
  const result = await endJob(job, { action: 'stop', reason: 'manual_stop', exitCode: 137, state: 'killed' }, env);
  return {
    beads,
    provider: job.paths.provider,
    stopped: result.ended,
    reason_code: result.outcome?.reason_code ?? 'manual_stop',
    exit_code: result.outcome?.exit_code ?? null,
    outcome_state: result.outcome?.state ?? null,
    written_by: result.writtenBy,
  };
}

export type FinalizeResult = FinalizeOutput;

/** `dx-runner finalize`: force an outcome (the process group is ended if still running). */
export async function finalizeJob(root: string | undefined, beads: string, reason: string, exitCode: number, env: NodeJS.ProcessEnv = process.env): Promise<FinalizeResult> {
  const job = requireJob(root, beads);
  const result = await endJob(job, { action: 'finalize', reason, exitCode }, env);
  const outcome = result.outcome;
  return {
    beads,
    provider: job.paths.provider,
    finalized: result.ended,
    reason_code: outcome?.reason_code ?? reason,
    exit_code: outcome?.exit_code ?? exitCode,
    outcome_state: outcome?.state ?? outcomeStateForExit(exitCode),
    written_by: result.writtenBy,
  };
}

/** Mark a job blocked (watchdog, after max retries): a running one is ended with outcome `blocked`. */
export async function blockJob(job: JobSnapshot, reason: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const meta = job.meta!;
  if (!job.outcome) await endJob(job, { action: 'block', reason, exitCode: 1, state: 'blocked' }, env);
  const record: Record<string, KvValue> = { run_instance: meta.run_instance, reason, retries: meta.retries, blocked_at: new Date().toISOString() };
  writeFileAtomic(job.paths.blocked, serializeKv(record));
}

export type PruneResult = PruneOutput;
type PruneAction = PruneOutput['actions'][number];

/**
 * `dx-runner prune`: finalize jobs whose watcher is gone (ending an orphaned agent group only after
 * proving it is ours by pid + start time), drop invalid or stale pid files and leftover job temp
 * dirs, and clear locks held by dead processes. Never signals anything by name.
 */
export async function pruneJobs(root: string | undefined, beads?: string, env: NodeJS.ProcessEnv = process.env): Promise<PruneResult> {
  const result: PruneResult = { checked: 0, pruned: 0, stale_locks_removed: 0, actions: [] };
  if (!root) return result;
  if (beads) requireJob(root, beads);
  for (const provider of listProviderDirs(root)) {
    const ids = beads ? [beads] : listBeadsInProviderDir(root, provider);
    for (const id of ids) {
      const paths = jobPaths(root, provider, id);
      if (!fs.existsSync(paths.meta)) continue;
      result.checked++;
      const pidText = readFileIfExists(paths.pid);
      if (pidText !== undefined && !/^\d+\s*$/.test(pidText)) {
        fs.rmSync(paths.pid, { force: true });
        result.actions.push({ beads: id, provider, action: 'removed_invalid_pid', detail: `pid file held ${JSON.stringify(pidText.slice(0, 40))}` });
      }
      const job = loadJob(paths);
      if (job.corrupt) {
        result.actions.push({ beads: id, provider, action: 'left_corrupt_state', detail: job.corrupt.message });
        continue;
      }
      if (!job.outcome && !job.watcherAlive) {
        const age = Date.now() - Date.parse(job.meta!.started_at);
        if (job.meta!.watcher_pid === undefined && age < 60_000) continue;
        const reason = job.meta!.watcher_pid === undefined ? 'launch_incomplete' : 'watcher_lost';
        const agent = agentIdentity(job);
        const agentWasAlive = job.agentAlive;
        await endJob(job, { action: 'finalize', reason, exitCode: 1, state: 'failed' }, env);
        result.actions.push({
          beads: id,
          provider,
          action: 'finalized_ghost',
          detail: `${reason}${agentWasAlive && agent ? `; ended orphaned agent group ${agent.pid}` : ''}`,
        });
        continue;
      }
      if (job.outcome) {
        const leftovers: string[] = [];
        for (const f of [paths.pid, paths.tmp, paths.control]) if (fs.existsSync(f)) leftovers.push(path.basename(f));
        if (fs.existsSync(paths.home) && env.DX_RUNNER_KEEP_JOB_HOME !== '1') leftovers.push(path.basename(paths.home));
        if (leftovers.length > 0) {
          cleanupInstance(job);
          result.actions.push({ beads: id, provider, action: 'removed_stale_files', detail: leftovers.join(', ') });
        }
      }
    }
  }
  result.stale_locks_removed = pruneStaleLocks(root);
  result.pruned = result.actions.filter((a) => a.action !== 'left_corrupt_state').length;
  return result;
}
