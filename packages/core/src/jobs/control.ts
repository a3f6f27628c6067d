import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DxError, ExitCode } from '../errors.js';
import { endEscapees, findEscapees, jobMark } from '../process/escapees.js';
import { jobProcessStatus } from '../process/identity.js';
import { sendSignal, terminateGroup, terminateProcess } from '../process/signals.js';
import { deadlineIn } from '../process/timers.js';
import { Redactor } from '../secrets/redact.js';
import { isNoSpace, readFileIfExists } from '../state/atomic.js';
import { jobPaths, listBeadsInProviderDir, listProviderDirs, type JobPaths, jobLockName } from '../state/layout.js';
import { acquireLock, LockTimeoutError, pruneStaleLocks, type Lock } from '../state/lock.js';
import { giveUpReserve, keepReserve } from './disk.js';
import { limitsFromEnv } from './limits.js';
import { applyJobRetention, type RetentionOptions } from './retention.js';
import { logBytesOnDisk, sealLog } from './capped-log.js';
import { outcomeStateForExit, type OutcomeState } from './outcome-state.js';
import type { FinalizeOutput, PruneOutput, StopOutput } from '../schemas/outputs.js';
import { cleanupInstance, CorruptRecordError, publishOutcome, readRecord, writeRecord } from './record-io.js';
import type { ControlRecord, OutcomeRecord } from './records.js';
import { ghostReason, loadJob, requireJob, runningWithoutMeta, type JobSnapshot } from './store.js';

export interface EndRequest {
  action: ControlRecord['action'];
  reason: string;
  exitCode: number;
  state?: OutcomeState;
  /** Record the outcome without signalling anything (finalize --no-signal: the operator vouches). */
  noSignal?: boolean;
  /** Said in the outcome's summary after the reason, when dx-runner writes it. */
  detail?: string;
}

export interface EndResult {
  /** False when the job had already ended; its existing outcome is returned untouched. */
  ended: boolean;
  outcome: OutcomeRecord | undefined;
  /** Who wrote the outcome: the watcher, or this command because the watcher was gone or stuck. */
  writtenBy: 'watcher' | 'dx-runner' | 'none';
  signalled: boolean;
}

const LOCK_TIMEOUT_MS = 60_000;
/** How long a watcher that published its outcome gets to exit before it is ended. */
const WATCHER_EXIT_GRACE_MS = 5000;

/**
 * Every command that changes a job's lifecycle (start, stop, restart, finalize, prune, watchdog)
 * holds this lock while it does, so two of them never act on one job at once.
 */
export async function lockJob(root: string, beads: string, timeoutMs = LOCK_TIMEOUT_MS): Promise<Lock> {
  try {
    return await acquireLock(root, jobLockName(beads), timeoutMs);
  } catch (err) {
    if (err instanceof LockTimeoutError) {
      throw new DxError(`job ${beads} is being controlled by another command: ${err.message}`, {
        exitCode: ExitCode.general,
        reasonCode: 'lock_timeout',
        nextAction: 'retry_or_run_dx_runner_prune',
      });
    }
    throw err;
  }
}

/**
 * `fn` under the job's lock. `useReserve` is for the commands that end work (stop, finalize): on a
 * file system full to the last byte, where not even the lock fits, they give up the state root's
 * reserve (keepReserve) and try once more, so ending a job never waits for someone to make room.
 */
export async function withJobLock<T>(
  root: string,
  beads: string,
  fn: () => Promise<T>,
  options: { useReserve?: boolean } = {},
): Promise<T> {
  let lock: Lock;
  try {
    lock = await lockJob(root, beads);
  } catch (err) {
    if (!options.useReserve || !isNoSpace(err) || !giveUpReserve(root)) throw err;
    lock = await lockJob(root, beads);
  }
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

export function identityUnprovenError(job: JobSnapshot, action: string): DxError {
  return new DxError(
    `job ${job.paths.beads}: will not ${action}: ${job.identityUnproven ?? 'process identity unproven'}; no process was signalled`,
    {
      exitCode: ExitCode.general,
      reasonCode: 'identity_unproven',
      nextAction: 'verify_the_processes_by_hand_then_finalize_with_--no-signal',
    },
  );
}

/**
 * The outcome of a job whose watcher can no longer write one (it died, never started, or was ended
 * because it did not answer). Built from meta + the last heartbeat.
 */
export function finalizeWithoutWatcher(job: JobSnapshot, request: EndRequest): boolean {
  const { meta, heartbeat: hb, paths } = job;
  if (!meta) return false;
  const now = Date.now();
  const started = Date.parse(meta.started_at);
  // the watcher is gone: put a log tail it kept apart back into the log
  sealLog(paths.log, undefined);
  const logBytes = logBytesOnDisk(paths.log);
  const outcome: OutcomeRecord = {
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
    provider_switch_from: meta.provider_switch_from ?? [],
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
    summary: `finalized by dx-runner ${request.action}: ${request.reason}${request.detail ? ` (${request.detail})` : ''}`,
    finalized_by: request.action,
  };
  const written = publishOutcome(paths, outcome, Redactor.fromEnv()) === 'written';
  cleanupInstance(paths, meta.run_instance, { keepHome: process.env.DX_RUNNER_KEEP_JOB_HOME === '1' });
  return written;
}

function currentOutcome(job: JobSnapshot): OutcomeRecord | undefined {
  try {
    const outcome = readRecord(job.paths.outcome, 'outcome');
    return outcome?.run_instance === job.meta?.run_instance ? outcome : undefined;
  } catch (err) {
    // a garbled file the watcher has not set aside yet
    if (err instanceof CorruptRecordError) return undefined;
    throw err;
  }
}

async function waitForOutcome(job: JobSnapshot, timeoutMs: number): Promise<OutcomeRecord | undefined> {
  const deadline = deadlineIn(timeoutMs);
  for (;;) {
    const outcome = currentOutcome(job);
    if (outcome) return outcome;
    if (deadline.passed()) return undefined;
    await sleep(50);
  }
}

/**
 * A watcher that has published its outcome is finishing its cleanup; nothing may replace its
 * instance until it is gone, or its late cleanup would delete the next instance's files.
 */
export async function awaitWatcherExit(job: JobSnapshot): Promise<void> {
  const meta = job.meta;
  if (meta?.watcher_pid === undefined) return;
  const watcher = { pid: meta.watcher_pid, startTicks: meta.watcher_start_ticks, bootId: meta.boot_id };
  const deadline = deadlineIn(WATCHER_EXIT_GRACE_MS);
  while (!deadline.passed() && jobProcessStatus(watcher).status === 'alive') await sleep(25);
  if (jobProcessStatus(watcher).status === 'alive') await terminateProcess(watcher, 1000);
}

/**
 * End a job (the caller holds its lock): ask its watcher (control file + SIGTERM) so the outcome
 * carries full evidence; if the watcher is gone or does not answer in time, end the agent's process
 * group ourselves and write the outcome. Nothing is signalled unless its identity is proven.
 */
export async function endJob(
  job: JobSnapshot,
  request: EndRequest,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EndResult> {
  if (job.outcome) return { ended: false, outcome: job.outcome, writtenBy: 'none', signalled: false };
  const meta = job.meta;
  if (!meta) {
    if (request.action === 'stop') {
      const ended = await endWithoutMeta(job, limitsFromEnv(env).killGraceSec * 1000);
      if (ended) return ended;
    }
    throw new DxError(`cannot end job ${job.paths.beads}: ${job.corrupt?.message ?? 'no metadata'}`, {
      exitCode: ExitCode.general,
      reasonCode: 'state_file_corrupt',
      nextAction: 'inspect_or_remove_the_corrupt_state_file',
    });
  }
  if (request.noSignal) {
    finalizeWithoutWatcher(job, request);
    return { ended: true, outcome: currentOutcome(job), writtenBy: 'dx-runner', signalled: false };
  }
  if (job.identityUnproven) throw identityUnprovenError(job, request.action);
  const killGraceMs = limitsFromEnv(env).killGraceSec * 1000;
  let signalled = false;
  if (job.watcherAlive && meta.watcher_pid !== undefined) {
    const control: ControlRecord = {
      action: request.action,
      reason: request.reason,
      exit_code: request.exitCode,
      run_instance: meta.run_instance,
      requested_at: new Date().toISOString(),
    };
    writeRecord(job.paths.control, 'control', control);
    const watcher = { pid: meta.watcher_pid, startTicks: meta.watcher_start_ticks, bootId: meta.boot_id };
    if (sendSignal(watcher, 'SIGTERM').result === 'sent') {
      signalled = true;
      const outcome = await waitForOutcome(job, killGraceMs + 5000);
      if (outcome) {
        await awaitWatcherExit(job);
        return { ended: true, outcome, writtenBy: 'watcher', signalled };
      }
      await terminateProcess(watcher, 1000);
    }
  }
  const hb = job.heartbeat;
  if (hb?.agent_pid !== undefined) {
    const agent = { pid: hb.agent_pid, startTicks: hb.agent_start_ticks, bootId: hb.boot_id };
    const result = await terminateGroup(agent, killGraceMs);
    if (result === 'refused') throw identityUnprovenError(job, request.action);
    signalled ||= result !== 'exited';
    // what left the group went on without the watcher that would have ended it
    const escapees = findEscapees(jobMark(meta.beads, meta.run_instance), agent);
    await endEscapees(escapees, killGraceMs);
    signalled ||= escapees.length > 0;
  }
  finalizeWithoutWatcher(job, request);
  return { ended: true, outcome: currentOutcome(job), writtenBy: 'dx-runner', signalled };
}

/**
 * A job whose meta cannot be read but whose heartbeat names processes still running (proven by pid
 * and start time): its watcher is asked to end (it holds its own record and writes its outcome),
 * else its agent's group is ended. The unreadable file is left for the operator. Undefined when
 * nothing of it runs.
 */
async function endWithoutMeta(job: JobSnapshot, killGraceMs: number): Promise<EndResult | undefined> {
  const running = runningWithoutMeta(job);
  if (!running.watcher && !running.agent) return undefined;
  if (running.watcher) {
    // the control record tells the watcher the end is a stop, as for a job whose meta reads
    if (running.runInstance)
      writeRecord(job.paths.control, 'control', {
        action: 'stop',
        reason: 'manual_stop',
        exit_code: 137,
        run_instance: running.runInstance,
        requested_at: new Date().toISOString(),
      });
    const result = await terminateProcess(running.watcher, killGraceMs + 5000);
    if (result === 'refused') throw identityUnprovenError(job, 'stop');
  }
  if (running.agent && jobProcessStatus(running.agent).status === 'alive') {
    const result = await terminateGroup(running.agent, killGraceMs);
    if (result === 'refused') throw identityUnprovenError(job, 'stop');
  }
  let outcome: OutcomeRecord | undefined;
  try {
    outcome = readRecord(job.paths.outcome, 'outcome');
  } catch (err) {
    if (!(err instanceof CorruptRecordError)) throw err;
  }
  if (outcome && outcome.run_instance !== running.runInstance) outcome = undefined;
  return { ended: true, outcome, writtenBy: outcome ? 'watcher' : 'none', signalled: true };
}

/**
 * A job whose watcher is gone without an outcome: its orphaned agent group (if any) ended, the
 * outcome written as `reason` (`failed`: nobody judged the run). When the watcher had seen its agent
 * end (the heartbeat says so), the outcome keeps the agent's own exit code and says when it ended.
 */
export function endGhost(
  job: JobSnapshot,
  reason: 'watcher_lost' | 'launch_incomplete',
  env: NodeJS.ProcessEnv = process.env,
) {
  const hb = job.heartbeat;
  const signal = hb?.agent_exit_signal as NodeJS.Signals | undefined;
  const exitCode = hb?.agent_exit_code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : undefined);
  const detail =
    exitCode === undefined
      ? undefined
      : `the agent had ended (${signal ? `signal ${signal}` : `exit code ${exitCode}`}) at ${hb?.agent_exited_at ?? 'an unrecorded time'}; its watcher was lost before it judged the run`;
  return endJob(job, { action: 'finalize', reason, exitCode: exitCode ?? 1, state: 'failed', detail }, env);
}

export type StopResult = StopOutput;

/** `dx-runner stop`: end the whole process group of a running job; outcome `killed`/`manual_stop`. */
export async function stopJob(
  root: string | undefined,
  beads: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<StopResult> {
  requireJob(root, beads);
  return withJobLock(
    root!,
    beads,
    async () => {
      const job = requireJob(root, beads);
      if (job.outcome) {
        throw new DxError(`job ${beads} is not running (it ended: ${job.outcome.state}, ${job.outcome.reason_code})`, {
          exitCode: ExitCode.general,
          reasonCode: 'job_not_running',
          nextAction: 'nothing_to_stop',
        });
      }
      // its watcher died and its agent with it: nothing is left to stop, and the record says what
      // happened (watcher_lost), not a stop nobody made
      const ghost = job.meta?.watcher_pid !== undefined && !job.watcherAlive && !job.agentAlive;
      const result = ghost
        ? await endGhost(job, ghostReason(job), env)
        : await endJob(job, { action: 'stop', reason: 'manual_stop', exitCode: 137, state: 'killed' }, env);
      return {
        beads,
        provider: job.paths.provider,
        stopped: result.ended,
        reason_code: result.outcome?.reason_code ?? 'manual_stop',
        exit_code: result.outcome?.exit_code ?? null,
        outcome_state: result.outcome?.state ?? null,
        written_by: result.writtenBy,
      };
    },
    { useReserve: true },
  );
}

export type FinalizeResult = FinalizeOutput;

/** `dx-runner finalize`: force an outcome (the process group is ended if still running). */
export async function finalizeJob(
  root: string | undefined,
  beads: string,
  reason: string,
  exitCode: number,
  env: NodeJS.ProcessEnv = process.env,
  options: { noSignal?: boolean } = {},
): Promise<FinalizeResult> {
  requireJob(root, beads);
  return withJobLock(
    root!,
    beads,
    async () => {
      const job = requireJob(root, beads);
      const result = await endJob(job, { action: 'finalize', reason, exitCode, noSignal: options.noSignal }, env);
      const outcome = result.outcome;
      return {
        beads,
        provider: job.paths.provider,
        finalized: result.ended,
        reason_code: outcome?.reason_code ?? reason,
        exit_code: outcome?.exit_code ?? exitCode,
        outcome_state: outcome?.state ?? outcomeStateForExit(exitCode),
        written_by: result.writtenBy,
        signalled: result.signalled,
      };
    },
    { useReserve: true },
  );
}

/** Mark a job blocked (watchdog, after max retries; the caller holds its lock). */
export async function blockJob(job: JobSnapshot, reason: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const meta = job.meta!;
  if (!job.outcome) await endJob(job, { action: 'block', reason, exitCode: 1, state: 'blocked' }, env);
  writeRecord(job.paths.blocked, 'blocked', {
    run_instance: meta.run_instance,
    reason,
    retries: meta.retries,
    blocked_at: new Date().toISOString(),
  });
}

export type PruneResult = PruneOutput;
type PruneAction = PruneOutput['actions'][number];

/** Pid files no job record explains (no meta beside them): a stale pid file never names a live job. */
function orphanPidFiles(root: string, provider: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(path.join(root, provider));
  } catch {
    return [];
  }
  return names.filter(
    (n) => n.endsWith('.pid') && !n.startsWith('.') && !names.includes(`${n.slice(0, -'.pid'.length)}.meta`),
  );
}

async function pruneOne(paths: JobPaths, env: NodeJS.ProcessEnv): Promise<PruneAction[]> {
  const { beads: id, provider } = paths;
  const actions: PruneAction[] = [];
  let pidText: string | undefined;
  try {
    pidText = readFileIfExists(paths.pid);
  } catch {
    pidText = 'not a regular file';
  }
  if (pidText !== undefined && !/^\d+\s*$/.test(pidText)) {
    fs.rmSync(paths.pid, { force: true, recursive: true });
    actions.push({
      beads: id,
      provider,
      action: 'removed_invalid_pid',
      detail: `pid file held ${JSON.stringify(pidText.slice(0, 40))}`,
    });
  }
  const job = loadJob(paths);
  if (job.corrupt) {
    actions.push({ beads: id, provider, action: 'left_corrupt_state', detail: job.corrupt.message });
    return actions;
  }
  if (job.identityUnproven) {
    actions.push({
      beads: id,
      provider,
      action: 'left_identity_unproven',
      detail: `${job.identityUnproven}; nothing signalled`,
    });
    return actions;
  }
  if (!job.outcome && !job.watcherAlive) {
    const age = Date.now() - Date.parse(job.meta!.started_at);
    if (job.meta!.watcher_pid === undefined && age < 60_000) return actions;
    const reason = ghostReason(job);
    const agentWasAlive = job.agentAlive;
    await endGhost(job, reason, env);
    actions.push({
      beads: id,
      provider,
      action: 'finalized_ghost',
      detail: `${reason}${agentWasAlive ? `; ended orphaned agent group ${job.heartbeat?.agent_pid}` : ''}`,
    });
    return actions;
  }
  if (job.outcome && !job.watcherAlive) {
    const leftovers: string[] = [];
    for (const f of [paths.pid, paths.tmp, paths.control]) if (fs.existsSync(f)) leftovers.push(path.basename(f));
    if (fs.existsSync(paths.home) && env.DX_RUNNER_KEEP_JOB_HOME !== '1') leftovers.push(path.basename(paths.home));
    if (
      leftovers.length > 0 &&
      cleanupInstance(paths, job.meta!.run_instance, { keepHome: env.DX_RUNNER_KEEP_JOB_HOME === '1' })
    ) {
      actions.push({ beads: id, provider, action: 'removed_stale_files', detail: leftovers.join(', ') });
    }
  }
  return actions;
}

/**
 * `dx-runner prune`: finalize jobs whose watcher is gone (ending an orphaned agent group only after
 * proving it is ours by pid + start time), drop invalid, stale or orphaned pid files and leftover job
 * temp dirs, and clear locks held by dead processes. Never signals anything by name; a job another
 * command is controlling is skipped and left for the next prune.
 */
export async function pruneJobs(
  root: string | undefined,
  beads?: string,
  env: NodeJS.ProcessEnv = process.env,
  retention?: RetentionOptions,
): Promise<PruneResult> {
  const result: PruneResult = { checked: 0, pruned: 0, stale_locks_removed: 0, actions: [], retention: null };
  if (!root) return result;
  if (retention?.dryRun) {
    // a dry run lists what retention would remove and changes nothing else
    result.retention = await applyJobRetention(root, retention);
    return result;
  }
  if (beads) requireJob(root, beads);
  try {
    await pruneEach(root, beads, env, retention, result);
  } catch (err) {
    // full to the last byte: not even a lock fits. Give up the room kept back for this and go on
    // (what was done stays done; the pass finds only what is left)
    if (!isNoSpace(err) || !giveUpReserve(root)) throw err;
    result.reserve_used = true;
    const before = result.actions;
    result.actions = [];
    result.checked = 0;
    await pruneEach(root, beads, env, retention, result);
    const again = new Set(result.actions.map((a) => JSON.stringify(a)));
    result.actions = [...before.filter((a) => !again.has(JSON.stringify(a))), ...result.actions];
  }
  keepReserve(root);
  result.pruned = result.actions.filter(
    (a) => !['left_corrupt_state', 'left_identity_unproven', 'skipped_busy', 'left_after_error'].includes(a.action),
  ).length;
  return result;
}

/** Something prune was to clean up is still there because the file system refused (the next prune tries again). */
export function pruneLeftErrors(result: PruneResult): boolean {
  return result.actions.some((a) => a.action === 'left_after_error') || (result.retention?.not_removed.length ?? 0) > 0;
}

/** One pass of prune over the state root (or one job), adding what it did to `result`. */
async function pruneEach(
  root: string,
  beads: string | undefined,
  env: NodeJS.ProcessEnv,
  retention: RetentionOptions | undefined,
  result: PruneResult,
): Promise<void> {
  for (const provider of listProviderDirs(root)) {
    if (!beads) {
      for (const name of orphanPidFiles(root, provider)) {
        fs.rmSync(path.join(root, provider, name), { force: true, recursive: true });
        result.actions.push({
          beads: name.slice(0, -'.pid'.length),
          provider,
          action: 'removed_orphan_pid',
          detail: `${name} had no job record beside it`,
        });
      }
    }
    const ids = beads ? [beads] : listBeadsInProviderDir(root, provider);
    for (const id of ids) {
      const paths = jobPaths(root, provider, id);
      if (!fs.existsSync(paths.meta)) continue;
      result.checked++;
      let lock: Lock;
      try {
        lock = await acquireLock(root, jobLockName(id), 2000);
      } catch (err) {
        if (!(err instanceof LockTimeoutError)) throw err;
        result.actions.push({
          beads: id,
          provider,
          action: 'skipped_busy',
          detail: 'another command is controlling this job',
        });
        continue;
      }
      try {
        result.actions.push(...(await pruneOne(paths, env)));
      } catch (err) {
        // a full disk is the caller's to handle (the reserve); anything else is this job's alone
        // (a tree the file system will not let go): say so and go on with the others
        if (isNoSpace(err)) throw err;
        result.actions.push({ beads: id, provider, action: 'left_after_error', detail: (err as Error).message });
      } finally {
        lock.release();
      }
    }
  }
  result.stale_locks_removed += pruneStaleLocks(root);
  if (retention && !beads) result.retention = await applyJobRetention(root, retention);
}
