import fs from 'node:fs';
import { DxError, ExitCode } from '../errors.js';
import { jobProcessStatus, type ProcessIdentity } from '../process/identity.js';
import { lockHeldByLiveProcess } from '../state/lock.js';
import {
  beadsWithSuffix,
  jobLockName,
  jobPaths,
  listBeadsInProviderDir,
  listProviderDirs,
  providerDirNames,
  type JobPaths,
} from '../state/layout.js';
import { CorruptRecordError, readRecord } from './record-io.js';
import type { BlockedRecord, HeartbeatRecord, MetaRecord, OutcomeRecord } from './records.js';

/** Everything known about one job instance, read from disk in one go. */
export interface JobSnapshot {
  paths: JobPaths;
  meta?: MetaRecord;
  heartbeat?: HeartbeatRecord;
  outcome?: OutcomeRecord;
  blocked?: BlockedRecord;
  /** Set when a state file could not be read; the file is left untouched. */
  corrupt?: { file: string; message: string };
  /**
   * A garbled outcome file while the job's watcher still runs: the watcher sets it aside and
   * publishes the real outcome when the agent ends, so the job is followed as live meanwhile.
   */
  corruptOutcome?: { file: string; message: string };
  watcherAlive: boolean;
  agentAlive: boolean;
  /** The record names a process it cannot prove is the job's: nothing of this job is signalled. */
  identityUnproven?: string;
  /** Other providers that also ran this beads id. */
  otherProviders: string[];
  /**
   * Read only while a launch is unacknowledged (a meta without a watcher): whether the process
   * launching it still holds the job's lock. False means the launch was abandoned (its `start`
   * was killed) and will never be acknowledged.
   */
  launcherAlive?: boolean;
  /**
   * Read only when the outcome on record is a restart's (`restarted`): whether the restart still
   * holds the job's lock, between its stop and its next instance. The job is being relaunched,
   * not ended; false means the restart ended without one.
   */
  restartInProgress?: boolean;
}

export function readMeta(paths: JobPaths): MetaRecord | undefined {
  return readRecord(paths.meta, 'meta');
}

export function readOutcome(paths: JobPaths): OutcomeRecord | undefined {
  return readRecord(paths.outcome, 'outcome');
}

function instanceRecord<K extends 'heartbeat' | 'outcome' | 'blocked'>(file: string, kind: K, instance: string) {
  const record = readRecord(file, kind);
  return record?.run_instance === instance ? record : undefined;
}

/**
 * Read one instance. A corrupt file is reported in `corrupt`, never thrown and never deleted.
 * `finished`: the records finishedRecords just read, not read again (its outcome counts only when it
 * names the instance the meta names).
 */
export function loadJob(paths: JobPaths, otherProviders: string[] = [], finished?: FinishedRecords): JobSnapshot {
  const snap: JobSnapshot = { paths, watcherAlive: false, agentAlive: false, otherProviders };
  let outcomeProblem: CorruptRecordError | undefined;
  try {
    snap.meta = finished?.meta ?? readRecord(paths.meta, 'meta');
    if (!snap.meta) return snap;
    const instance = snap.meta.run_instance;
    snap.heartbeat = instanceRecord(paths.heartbeat, 'heartbeat', instance);
    try {
      const known = finished?.outcome;
      snap.outcome = known
        ? known.run_instance === instance
          ? known
          : undefined
        : instanceRecord(paths.outcome, 'outcome', instance);
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      outcomeProblem = err;
    }
    snap.blocked = instanceRecord(paths.blocked, 'blocked', instance);
  } catch (err) {
    if (!(err instanceof CorruptRecordError)) throw err;
    snap.corrupt = { file: err.file, message: err.message };
  }
  const meta = snap.meta;
  const problems: string[] = [];
  if (meta?.watcher_pid !== undefined) {
    const status = jobProcessStatus({
      pid: meta.watcher_pid,
      startTicks: meta.watcher_start_ticks,
      bootId: meta.boot_id,
    });
    snap.watcherAlive = status.status === 'alive';
    if (status.status === 'unproven') problems.push(`watcher: ${status.detail}`);
  }
  if (meta && meta.watcher_pid === undefined && !snap.outcome)
    snap.launcherAlive = lockHeldByLiveProcess(paths.root, jobLockName(meta.beads));
  if (snap.outcome?.reason_code === 'restarted')
    snap.restartInProgress = lockHeldByLiveProcess(paths.root, jobLockName(paths.beads));
  const hb = snap.heartbeat;
  if (hb?.agent_pid !== undefined) {
    const status = jobProcessStatus({ pid: hb.agent_pid, startTicks: hb.agent_start_ticks, bootId: hb.boot_id });
    snap.agentAlive = status.status === 'alive';
    if (status.status === 'unproven') problems.push(`agent: ${status.detail}`);
  }
  if (problems.length > 0 && !snap.outcome) snap.identityUnproven = problems.join('; ');
  if (outcomeProblem && !snap.corrupt) {
    if (snap.watcherAlive) snap.corruptOutcome = { file: outcomeProblem.file, message: outcomeProblem.message };
    else snap.corrupt = { file: outcomeProblem.file, message: outcomeProblem.message };
  }
  return snap;
}

/**
 * The processes still running for a job whose meta cannot be read (a garbled or removed file): its
 * heartbeat, read without the instance check the meta would give, names its watcher and agent, and
 * only those proven by pid and kernel start time count. Empty when nothing of it runs (or the
 * heartbeat cannot be read either: it proves no process).
 */
export function runningWithoutMeta(job: JobSnapshot): {
  watcher?: ProcessIdentity;
  agent?: ProcessIdentity;
  runInstance?: string;
} {
  if (job.meta) return {};
  let hb: HeartbeatRecord | undefined;
  try {
    hb = readRecord(job.paths.heartbeat, 'heartbeat');
  } catch (err) {
    if (!(err instanceof CorruptRecordError)) throw err;
  }
  const alive = (pid: number | undefined, startTicks: number | undefined): ProcessIdentity | undefined => {
    if (pid === undefined || startTicks === undefined) return undefined;
    const id = { pid, startTicks, bootId: hb?.boot_id };
    return jobProcessStatus(id).status === 'alive' ? id : undefined;
  };
  const watcher = alive(hb?.watcher_pid, hb?.watcher_start_ticks);
  const agent = alive(hb?.agent_pid, hb?.agent_start_ticks);
  if (!watcher && !agent) return {};
  return { ...(watcher ? { watcher } : {}), ...(agent ? { agent } : {}), runInstance: hb?.run_instance };
}

/** "watcher pid 12, agent pid 13", for messages about what still runs. */
export function describeRunning(running: { watcher?: ProcessIdentity; agent?: ProcessIdentity }): string {
  return [
    running.watcher ? `watcher pid ${running.watcher.pid}` : '',
    running.agent ? `agent pid ${running.agent.pid}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** started_at of an instance, for "latest instance wins"; a corrupt meta falls back to its mtime. */
function instanceTime(paths: JobPaths): number {
  try {
    const meta = readMeta(paths);
    if (meta) return Date.parse(meta.started_at) || 0;
  } catch {
    // fall through to mtime
  }
  try {
    return fs.statSync(paths.meta).mtimeMs;
  } catch {
    return 0;
  }
}

/** Providers holding a meta file for this beads id. */
export function providersForBeads(root: string, beads: string): string[] {
  return listProviderDirs(root).filter((p) => fs.existsSync(jobPaths(root, p, beads).meta));
}

/**
 * When one beads id ran under several providers, status/check/report resolve to the instance that
 * started last (by the recorded start time, not by file mtimes that other commands may touch).
 */
export function pickLatest(root: string, beads: string, providers: string[]): JobPaths | undefined {
  let best: JobPaths | undefined;
  let bestTime = -Infinity;
  for (const provider of providers) {
    const paths = jobPaths(root, provider, beads);
    const t = instanceTime(paths);
    if (t >= bestTime) {
      best = paths;
      bestTime = t;
    }
  }
  return best;
}

export function findLatestJob(root: string | undefined, beads: string): JobSnapshot | undefined {
  if (!root) return undefined;
  const providers = providersForBeads(root, beads);
  const latest = pickLatest(root, beads, providers);
  if (!latest) return undefined;
  return loadJob(
    latest,
    providers.filter((p) => p !== latest.provider),
  );
}

export function requireJob(root: string | undefined, beads: string): JobSnapshot {
  const job = findLatestJob(root, beads);
  if (!job) {
    throw new DxError(`no job recorded for beads ${beads}`, {
      exitCode: ExitCode.general,
      reasonCode: 'job_not_found',
      nextAction: 'verify_the_beads_id_or_start_the_job',
    });
  }
  return job;
}

/** Where a beads id's latest instance is, and which other providers also ran it. */
export interface JobLocation {
  paths: JobPaths;
  otherProviders: string[];
  /**
   * The instance's pid file is still there: its processes may run (or its clean-up never ran).
   * Written by the watcher once the agent is spawned, removed with the instance's clean-up.
   */
  pidFile?: boolean;
}

/**
 * Every beads id's latest instance, located without reading it: one directory scan per provider
 * (plus the meta files of an id recorded under several providers, to pick the latest).
 */
export function listJobLocations(root: string | undefined): JobLocation[] {
  if (!root) return [];
  const byBeads = new Map<string, string[]>();
  const withPidFile = new Set<string>();
  for (const provider of listProviderDirs(root)) {
    const names = providerDirNames(root, provider);
    for (const beads of beadsWithSuffix(names, '.meta')) {
      const list = byBeads.get(beads);
      if (list) list.push(provider);
      else byBeads.set(beads, [provider]);
    }
    for (const beads of beadsWithSuffix(names, '.pid')) withPidFile.add(`${provider}/${beads}`);
  }
  const found: JobLocation[] = [];
  for (const [beads, providers] of byBeads) {
    const paths = providers.length === 1 ? jobPaths(root, providers[0], beads) : pickLatest(root, beads, providers)!;
    found.push({
      paths,
      otherProviders: providers.filter((p) => p !== paths.provider),
      pidFile: withPidFile.has(`${paths.provider}/${beads}`),
    });
  }
  return found;
}

/** Every beads id's latest instance. One directory scan per provider; no process is spawned. */
export function listJobs(root: string | undefined): JobSnapshot[] {
  return listJobLocations(root).map(({ paths, otherProviders }) => loadJob(paths, otherProviders));
}

/** A finished job's outcome, and its meta when it was read to prove they name the same instance. */
export interface FinishedRecords {
  meta?: MetaRecord;
  outcome: OutcomeRecord;
}

/**
 * The records of a job whose current instance has an outcome, without its heartbeat or a process
 * check. Undefined when the job has not ended or a record cannot be read — then only the full load
 * (loadJob) can tell what the job is.
 *
 * Without a pid file, the outcome alone (one read): an outcome in a job's place is its current
 * instance's, since a launch moves the last outcome aside before it writes the next meta and an
 * outcome is published only for the instance the meta names; and an instance whose processes may
 * still run keeps its pid file until its clean-up. With one (`trustOutcome` false), the meta is read
 * too and must name the outcome's instance.
 */
export function finishedRecords(paths: JobPaths, trustOutcome = false): FinishedRecords | undefined {
  try {
    const outcome = readOutcome(paths);
    // a restart's replaced instance: only the full load tells whether the restart is under way
    if (!outcome || outcome.reason_code === 'restarted') return undefined;
    if (trustOutcome) return { outcome };
    const meta = readMeta(paths);
    return meta?.run_instance === outcome.run_instance ? { meta, outcome } : undefined;
  } catch (err) {
    if (err instanceof CorruptRecordError) return undefined;
    throw err;
  }
}

/** The beads ids that have a job record, sorted; reads directory names only (shell completion). */
export function listRecordedBeadsIds(root: string | undefined): string[] {
  if (!root) return [];
  const ids = new Set<string>();
  for (const provider of listProviderDirs(root))
    for (const beads of listBeadsInProviderDir(root, provider)) ids.add(beads);
  return [...ids].sort();
}

/**
 * Why a job whose watcher is gone without an outcome ended: its launch never got as far as an agent
 * (no watcher named, or no heartbeat naming the agent: nothing ran), or its watcher was lost while the
 * agent ran.
 */
export function ghostReason(job: JobSnapshot): 'launch_incomplete' | 'watcher_lost' {
  return job.meta?.watcher_pid === undefined || job.heartbeat?.agent_pid === undefined
    ? 'launch_incomplete'
    : 'watcher_lost';
}

/** A job is live while it has no outcome and its watcher runs. */
export function isLive(job: JobSnapshot): boolean {
  return !job.outcome && job.watcherAlive;
}
