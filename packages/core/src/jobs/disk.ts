import fs from 'node:fs';
import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import type { DiskOutput } from '../schemas/outputs.js';
import { isNoSpace, writeFileExclusive } from '../state/atomic.js';
import { listProviderDirs } from '../state/layout.js';
import { listHolds } from './holds.js';

const MB = 1024 * 1024;

/**
 * Room left for an unprivileged writer on the file system holding `dir`: bytes, and files
 * (inodes; null on file systems without an inode limit, which report none).
 */
function room(dir: string): { bytes: number; files: number | null } {
  const st = fs.statfsSync(dir);
  return { bytes: Number(st.bavail) * Number(st.bsize), files: Number(st.files) > 0 ? Number(st.ffree) : null };
}

/**
 * Files a start needs room for, with a wide margin: a job writes about fifteen (records, their
 * temporary copies, locks, its log) and a wave or a nightly run several more per item.
 */
const MIN_FREE_FILES = 1000;

/**
 * Refuse to start work that needs room to write when the state root's file system is nearly full:
 * short of bytes, or of inodes (a file system can run out of files with space to spare).
 * `limits.min_free_mb: 0` turns both checks off.
 */
/**
 * What a file system with this much room left is short of for a start, by the policy's floor:
 * files first (a file system can run out of them with bytes to spare), then bytes. Never short
 * when `limits.min_free_mb` is 0; files unknown (null, undefined) are not short.
 */
function shortOf(free: { bytes: number | null; files?: number | null }, policy: Policy): 'files' | 'bytes' | undefined {
  const minBytes = policy.limits.minFreeMb * MB;
  if (minBytes <= 0) return undefined;
  if (typeof free.files === 'number' && free.files < MIN_FREE_FILES) return 'files';
  if (free.bytes !== null && free.bytes < minBytes) return 'bytes';
  return undefined;
}

export function assertFreeSpace(dir: string, policy: Policy, label = 'the dx-runner state root'): void {
  const minBytes = policy.limits.minFreeMb * MB;
  const { bytes: free, files } = room(dir);
  const short = shortOf({ bytes: free, files }, policy);
  if (short === 'files') {
    throw new DxError(
      `only ${files} files (inodes) free on the file system of ${label} (${dir}); a start needs room for at least ${MIN_FREE_FILES}`,
      {
        exitCode: ExitCode.general,
        reasonCode: 'disk_low',
        nextAction: 'free_disk_space_or_prune_old_jobs_then_start_again',
        details: { free_files: files, min_free_files: MIN_FREE_FILES },
      },
    );
  }
  if (short === 'bytes') {
    throw new DxError(
      `only ${Math.floor(free / MB)} MB free on the file system of ${label} (${dir}); limits.min_free_mb is ${policy.limits.minFreeMb}`,
      {
        exitCode: ExitCode.general,
        reasonCode: 'disk_low',
        nextAction: 'free_disk_space_or_prune_old_jobs_then_start_again',
        details: { free_bytes: free, min_free_bytes: minBytes },
      },
    );
  }
}

/** Held back in the state root for the day its file system fills to the last byte (keepReserve). */
const RESERVE_FILE = '.reserve';
const RESERVE_BYTES = 64 * 1024;

/**
 * Keeps `<root>/.reserve`, 64 KiB of real blocks and one inode, while the file system has plenty of
 * room: on the day it is full to the last byte, `prune`, `stop` and `finalize` give it up
 * (giveUpReserve) so they can take a job's lock and write what they must before they free or end
 * anything — without it, the operator's way out answered `disk_full` too. Made only with ample room
 * (64 times its size, and MIN_FREE_FILES files); a precaution that never fails its caller.
 */
export function keepReserve(root: string): void {
  const file = path.join(root, RESERVE_FILE);
  try {
    if (fs.existsSync(file)) return;
    const { bytes, files } = room(root);
    if (bytes < RESERVE_BYTES * 64 || (files !== null && files < MIN_FREE_FILES)) return;
    // zeros written (not a hole): the blocks are really taken, so removing the file gives them back
    writeFileExclusive(file, '\0'.repeat(RESERVE_BYTES), 0o600, { durable: false });
  } catch {
    // without a reserve, a prune on a full disk answers disk_full, as it would have anyway
  }
}

/** Gives the reserve's room back to the file system; whether there was one. */
export function giveUpReserve(root: string): boolean {
  try {
    fs.unlinkSync(path.join(root, RESERVE_FILE));
    return true;
  } catch {
    return false;
  }
}

/**
 * What is short on the file system a `status --disk` answer describes — bytes under
 * `limits.min_free_mb`, or files under the floor a start needs — as the one line a wave or a night
 * refuses with before it dispatches anything; undefined when there is room (or the answer does not
 * say: an older dx-runner reports no files). `min_free_mb: 0` turns both off, as for a start.
 */
export function roomProblem(disk: DiskOutput, policy: Policy): string | undefined {
  const short = shortOf({ bytes: disk.free_bytes, files: disk.free_files }, policy);
  if (short === 'files')
    return `only ${disk.free_files} files (inodes) free where dx-runner keeps its state (${disk.state_dir}); a start needs room for at least ${MIN_FREE_FILES}`;
  if (short === 'bytes')
    return `only ${Math.floor(disk.free_bytes! / MB)} MB free where dx-runner keeps its state (${disk.state_dir}); limits.min_free_mb is ${policy.limits.minFreeMb}`;
  return undefined;
}

/**
 * A write that failed because the file system is full, as the failure a user can act on; any other
 * error as it was.
 */
export function asDiskFull(err: unknown, label = 'the dx-runner state root'): unknown {
  if (!isNoSpace(err)) return err;
  return new DxError(`no space left on the file system of ${label}: ${(err as Error).message}`, {
    exitCode: ExitCode.general,
    reasonCode: 'disk_full',
    nextAction: 'free_disk_space_or_prune_old_jobs_then_start_again',
  });
}

/** What kind of state a job file is, by its name after the beads id. */
const KINDS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\.watcher\.log(\.tail\.[01])?$/, 'watcher_log'],
  [/\.log\.tail\.[01]$/, 'log'],
  [/\.log$/, 'log'],
  [/\.log\.\d+$/, 'rotated_log'],
  [/\.outcome(\.\d+|\.corrupt\.\d+)?$/, 'outcome'],
  [/\.meta$/, 'meta'],
  [/\.heartbeat$/, 'heartbeat'],
  [/\.prompt$/, 'prompt'],
  [/\.(home|tmp)$/, 'private_dirs'],
];

function kindOf(name: string): string {
  return KINDS.find(([re]) => re.test(name))?.[1] ?? 'other';
}

/** Bytes under a path (a directory is walked, symlinks are not followed). */
export function bytesUnder(p: string): number {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.size;
  let total = 0;
  let entries: string[];
  try {
    entries = fs.readdirSync(p);
  } catch {
    return total;
  }
  for (const e of entries) total += bytesUnder(path.join(p, e));
  return total;
}

/** The beads id a job file belongs to: its name up to the first job suffix. */
function beadsOf(name: string): string | undefined {
  const m = /^(.+?)\.(meta|outcome|log|heartbeat|pid|rc|control|prompt|blocked|watcher\.log|home|tmp)(\..*)?$/.exec(
    name,
  );
  return m?.[1];
}

/** `status --disk`: bytes per provider, per kind of file, the largest jobs, and the free space. */
export function diskUsage(root: string | undefined, rootPath: string, top = 10): DiskOutput {
  const out: DiskOutput = {
    generated_at: new Date().toISOString(),
    state_dir: rootPath,
    total_bytes: 0,
    free_bytes: null,
    free_files: null,
    by_provider: {},
    by_kind: {},
    largest_jobs: [],
    holds: [],
  };
  if (!root) return out;
  const free = room(root);
  out.free_bytes = free.bytes;
  out.free_files = free.files;
  const jobs = new Map<string, { beads: string; provider: string; bytes: number }>();
  for (const provider of listProviderDirs(root)) {
    const dir = path.join(root, provider);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const bytes = bytesUnder(path.join(dir, name));
      out.total_bytes += bytes;
      out.by_provider[provider] = (out.by_provider[provider] ?? 0) + bytes;
      const kind = kindOf(name);
      out.by_kind[kind] = (out.by_kind[kind] ?? 0) + bytes;
      const beads = beadsOf(name);
      if (!beads) continue;
      const key = `${provider}/${beads}`;
      const job = jobs.get(key) ?? { beads, provider, bytes: 0 };
      job.bytes += bytes;
      jobs.set(key, job);
    }
  }
  out.largest_jobs = [...jobs.values()].sort((a, b) => b.bytes - a.bytes).slice(0, top);
  out.holds = listHolds(root);
  return out;
}
