import fs from 'node:fs';
import type { z } from 'zod';
import { DxError, ExitCode } from '../errors.js';
import { isAlive } from '../process/identity.js';
import { readFileIfExists } from '../state/atomic.js';
import { KvParseError, parseKv } from '../state/kv.js';
import { jobPaths, listBeadsInProviderDir, listProviderDirs, type JobPaths } from '../state/layout.js';
import {
  BlockedSchema,
  HeartbeatSchema,
  MetaSchema,
  OutcomeSchema,
  type BlockedRecord,
  type HeartbeatRecord,
  type MetaRecord,
  type OutcomeRecord,
} from './records.js';

/** Everything known about one job instance, read from disk in one go. */
export interface JobSnapshot {
  paths: JobPaths;
  meta?: MetaRecord;
  heartbeat?: HeartbeatRecord;
  outcome?: OutcomeRecord;
  blocked?: BlockedRecord;
  /** Set when a state file could not be parsed; the file is left untouched. */
  corrupt?: { file: string; message: string };
  watcherAlive: boolean;
  agentAlive: boolean;
  /** Other providers that also ran this beads id. */
  otherProviders: string[];
}

class CorruptStateError extends Error {
  constructor(readonly file: string, message: string) {
    super(message);
  }
}

function readRecord<S extends z.ZodType>(file: string, schema: S): z.output<S> | undefined {
  const text = readFileIfExists(file);
  if (text === undefined) return undefined;
  let kv: Record<string, string>;
  try {
    kv = parseKv(text, file);
  } catch (err) {
    if (err instanceof KvParseError) throw new CorruptStateError(file, err.message);
    throw err;
  }
  const parsed = schema.safeParse(kv);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = issue.path.join('.') || '(record)';
    throw new CorruptStateError(file, `${file}: ${key}: ${issue.message}${text.endsWith('\n') ? '' : ' (file looks truncated)'}`);
  }
  return parsed.data;
}

export function readMeta(paths: JobPaths): MetaRecord | undefined {
  return readRecord(paths.meta, MetaSchema);
}

export function readOutcome(paths: JobPaths): OutcomeRecord | undefined {
  return readRecord(paths.outcome, OutcomeSchema);
}

/** Read one instance. A corrupt file is reported in `corrupt`, never thrown and never deleted. */
export function loadJob(paths: JobPaths, otherProviders: string[] = []): JobSnapshot {
  const snap: JobSnapshot = { paths, watcherAlive: false, agentAlive: false, otherProviders };
  try {
    snap.meta = readRecord(paths.meta, MetaSchema);
    if (!snap.meta) return snap;
    const instance = snap.meta.run_instance;
    const heartbeat = readRecord(paths.heartbeat, HeartbeatSchema);
    if (heartbeat?.run_instance === instance) snap.heartbeat = heartbeat;
    const outcome = readRecord(paths.outcome, OutcomeSchema);
    if (outcome?.run_instance === instance) snap.outcome = outcome;
    const blocked = readRecord(paths.blocked, BlockedSchema);
    if (blocked?.run_instance === instance) snap.blocked = blocked;
  } catch (err) {
    if (!(err instanceof CorruptStateError)) throw err;
    snap.corrupt = { file: err.file, message: err.message };
  }
  const meta = snap.meta;
  if (meta?.watcher_pid !== undefined) {
    snap.watcherAlive = isAlive({ pid: meta.watcher_pid, startTicks: meta.watcher_start_ticks ?? 0 });
  }
  const hb = snap.heartbeat;
  if (hb?.agent_pid !== undefined) {
    snap.agentAlive = isAlive({ pid: hb.agent_pid, startTicks: hb.agent_start_ticks ?? 0 });
  }
  return snap;
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
  return loadJob(latest, providers.filter((p) => p !== latest.provider));
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

/** Every beads id's latest instance. One directory scan per provider; no process is spawned. */
export function listJobs(root: string | undefined): JobSnapshot[] {
  if (!root) return [];
  const byBeads = new Map<string, string[]>();
  for (const provider of listProviderDirs(root)) {
    for (const beads of listBeadsInProviderDir(root, provider)) {
      const list = byBeads.get(beads);
      if (list) list.push(provider);
      else byBeads.set(beads, [provider]);
    }
  }
  const jobs: JobSnapshot[] = [];
  for (const [beads, providers] of byBeads) {
    const latest = providers.length === 1 ? jobPaths(root, providers[0]!, beads) : pickLatest(root, beads, providers)!;
    jobs.push(loadJob(latest, providers.filter((p) => p !== latest.provider)));
  }
  return jobs;
}

/** A job is live while it has no outcome and its watcher runs. */
export function isLive(job: JobSnapshot): boolean {
  return !job.outcome && job.watcherAlive;
}
