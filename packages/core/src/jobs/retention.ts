import fs from 'node:fs';
import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import { MAX_RETENTION_DAYS, type Policy } from '../policy/schema.js';
import type { RetentionOutput } from '../schemas/outputs.js';
import { readFileIfExists, removeTree, writeFileAtomic } from '../state/atomic.js';
import { jobPaths, JOB_FILE_SUFFIXES, listBeadsInProviderDir, listProviderDirs, jobLockName } from '../state/layout.js';
import { acquireLock, LockTimeoutError, type Lock } from '../state/lock.js';
import { bytesUnder } from './disk.js';
import { isHeld } from './holds.js';
import { loadJob } from './store.js';

const DAY_MS = 86_400_000;

/** `30d`, `12h`, `90m`, `45s`, or a bare number of days; at most MAX_RETENTION_DAYS. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([dhms]?)$/.exec(text.trim());
  if (!m) throw new Error(`expected a duration like 30d, 12h, 90m or 45s, got "${text}"`);
  const n = Number(m[1]);
  const unit = { d: DAY_MS, h: 3_600_000, m: 60_000, s: 1000, '': DAY_MS }[m[2] as 'd' | 'h' | 'm' | 's' | ''];
  if (n * unit > MAX_RETENTION_DAYS * DAY_MS)
    throw new Error(`expected at most ${MAX_RETENTION_DAYS}d (1,000 years), got "${text}"`);
  return n * unit;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Every file and directory of one job in its provider directory: its suffixes, rotations, tail
 * segments and corrupt copies, in the order they are removed. The record goes last: the meta (what
 * lists the job), then the outcome. A prune killed half-way so leaves a finished job the next prune
 * lists and finishes removing, never a log no listing finds, and never a meta without its outcome
 * (read as a job whose watcher died); at most the outcome, a few hundred bytes, is left unlisted.
 */
export function jobFileNames(names: string[], beads: string): string[] {
  const suffixes = JOB_FILE_SUFFIXES.map(escapeRegExp).join('|');
  const re = new RegExp(`^${escapeRegExp(beads)}(?:${suffixes})(?:\\.\\d+|\\.corrupt\\.\\d+|\\.tail\\.[01])?$`);
  const last = [`${beads}.meta`, `${beads}.outcome`];
  const rank = (name: string) => last.indexOf(name);
  return names.filter((n) => re.test(n)).sort((a, b) => rank(a) - rank(b));
}

export interface RetentionOptions {
  olderThanMs: number;
  keepLast: number;
  dryRun: boolean;
  now?: number;
}

/**
 * Remove finished jobs past the limit: every file of a job whose outcome is older than
 * `olderThanMs`, beyond the `keepLast` most recent finished ones. Never a job without an outcome
 * (live, ghost, corrupt or unproven), never one whose owner still holds it, never one another
 * command is controlling.
 */
export async function applyJobRetention(root: string | undefined, options: RetentionOptions): Promise<RetentionOutput> {
  const result: RetentionOutput = {
    dry_run: options.dryRun,
    older_than_sec: Math.round(options.olderThanMs / 1000),
    keep_last: options.keepLast,
    removed: [],
    kept: { live: 0, held: 0, recent: 0, unfinished: 0 },
    bytes_freed: 0,
    not_removed: [],
  };
  if (!root) return result;
  const now = options.now ?? Date.now();
  const finished: Array<{ provider: string; beads: string; completedAt: number }> = [];
  for (const provider of listProviderDirs(root)) {
    for (const beads of listBeadsInProviderDir(root, provider)) {
      const job = loadJob(jobPaths(root, provider, beads));
      if (!job.outcome || job.corrupt || job.watcherAlive || job.agentAlive) {
        if (job.watcherAlive || job.agentAlive) result.kept.live++;
        else result.kept.unfinished++;
        continue;
      }
      if (isHeld(root, job.meta?.owner)) {
        result.kept.held++;
        continue;
      }
      finished.push({ provider, beads, completedAt: Date.parse(job.outcome.completed_at) || 0 });
    }
  }
  finished.sort((a, b) => b.completedAt - a.completedAt);
  for (const [index, job] of finished.entries()) {
    if (index < options.keepLast || now - job.completedAt < options.olderThanMs) {
      result.kept.recent++;
      continue;
    }
    // a dry run writes nothing, not even a lock: it works on a full disk, where an operator looks first
    let lock: Lock | undefined;
    try {
      if (!options.dryRun) lock = await acquireLock(root, jobLockName(job.beads), 2000);
    } catch (err) {
      if (!(err instanceof LockTimeoutError)) throw err;
      result.kept.live++;
      continue;
    }
    try {
      let removed: ReturnType<typeof removeFinishedJobFiles>;
      try {
        removed = removeFinishedJobFiles(root, job.provider, job.beads, options.dryRun);
      } catch (err) {
        // one job's files the file system will not let go (a busy mount, a read-only or foreign
        // tree) must not stop retention for every other job; its record goes last, so the next
        // prune finds it and tries again
        result.not_removed.push({ beads: job.beads, provider: job.provider, error: (err as Error).message });
        continue;
      }
      if (!removed) {
        result.kept.live++;
        continue;
      }
      result.removed.push({
        beads: job.beads,
        provider: job.provider,
        completed_at: new Date(job.completedAt).toISOString(),
        ...removed,
      });
      result.bytes_freed += removed.bytes;
    } finally {
      lock?.release();
    }
  }
  return result;
}

/**
 * Every file of one finished job in one provider directory; undefined (nothing removed) when the
 * job is not finished. The caller holds the job's lock (a dry run, which removes nothing, needs none).
 */
function removeFinishedJobFiles(
  root: string,
  provider: string,
  beads: string,
  dryRun: boolean,
): { files: number; bytes: number } | undefined {
  // read again under the lock: a restart may have made it live since any listing
  const fresh = loadJob(jobPaths(root, provider, beads));
  if (!fresh.outcome || fresh.watcherAlive || fresh.agentAlive) return undefined;
  const dir = path.join(root, provider);
  const names = jobFileNames(fs.readdirSync(dir), beads);
  const bytes = names.reduce((n, name) => n + bytesUnder(path.join(dir, name)), 0);
  // a kept private HOME (DX_RUNNER_KEEP_JOB_HOME) may hold an agent's read-only trees
  if (!dryRun) for (const name of names) removeTree(path.join(dir, name));
  return { files: names.length, bytes };
}

/** Remove a finished job's files in every provider directory (e.g. a demo's); false when one is still live. */
export async function forgetFinishedJob(root: string | undefined, beads: string): Promise<boolean> {
  if (!root) return true;
  const lock = await acquireLock(root, jobLockName(beads), 2000);
  try {
    let all = true;
    for (const provider of listProviderDirs(root)) {
      if (!listBeadsInProviderDir(root, provider).includes(beads)) continue;
      if (!removeFinishedJobFiles(root, provider, beads, false)) all = false;
    }
    return all;
  } finally {
    lock.release();
  }
}

/**
 * Policy retention, applied by `prune --retention` (and once a day by the watchdog) for jobs; `days`
 * is the policy's age for another kind of record (waves, nights), `olderThan` the flag over both.
 */
export function retentionOptions(
  policy: Policy,
  overrides: { days?: number; olderThan?: string; keepLast?: number; dryRun?: boolean } = {},
): RetentionOptions {
  let olderThanMs = (overrides.days ?? policy.retention.jobsDays) * DAY_MS;
  if (overrides.olderThan !== undefined) {
    try {
      olderThanMs = parseDuration(overrides.olderThan);
    } catch (err) {
      throw new DxError(`--older-than: ${(err as Error).message}`, {
        exitCode: ExitCode.usage,
        reasonCode: 'invalid_flag',
        nextAction: 'see_--help',
      });
    }
  }
  return { olderThanMs, keepLast: overrides.keepLast ?? policy.retention.keepLast, dryRun: overrides.dryRun ?? false };
}

/**
 * Run `apply` at most once per `periodMs` for this state root: the stamp records the last run, so
 * hourly cron runs and a long-running watchdog share one daily retention pass.
 */
export async function onceEvery<T>(
  root: string,
  stamp: string,
  periodMs: number,
  apply: () => Promise<T>,
  now = Date.now(),
): Promise<T | undefined> {
  const file = path.join(root, stamp);
  let last: number;
  try {
    last = Date.parse(readFileIfExists(file)?.trim() ?? '');
  } catch {
    last = NaN;
  }
  if (Number.isFinite(last) && now - last < periodMs) return undefined;
  writeFileAtomic(file, `${new Date(now).toISOString()}\n`);
  return apply();
}

export const RETENTION_PERIOD_MS = DAY_MS;
