import fs from 'node:fs';
import path from 'node:path';
import { workTreeGitDir } from '../gates/worktree.js';
import type { ProcessIdentity } from '../process/identity.js';
import { readFileIfExists, writeFileAtomic } from '../state/atomic.js';
import { parseKv, serializeKv } from '../state/kv.js';

/**
 * A job's claim on its work tree, in the work tree's own git dir: the job records of another state
 * root (a cron line's `DX_RUNNER_STATE_DIR`, not the operator's shell's) are not looked at, so
 * without it a job of each could run in one worktree, each counting the other's changes as its own.
 */
const CLAIM_FILE = 'dx-runner-job';

function claimFile(worktree: string): string | undefined {
  const repository = workTreeGitDir(worktree);
  return repository ? path.join(repository, CLAIM_FILE) : undefined;
}

export interface WorktreeClaim {
  stateRoot: string;
  provider: string;
  beads: string;
  runInstance: string;
  watcher: ProcessIdentity;
  /** The agent: it can outlive a watcher that was killed. */
  agent?: ProcessIdentity;
}

function readClaim(file: string): WorktreeClaim | undefined {
  try {
    const text = readFileIfExists(file);
    if (!text) return undefined;
    const kv = parseKv(text, file);
    return {
      stateRoot: kv.state_root ?? '',
      provider: kv.provider ?? '',
      beads: kv.beads ?? '',
      runInstance: kv.run_instance ?? '',
      watcher: { pid: Number(kv.watcher_pid), startTicks: Number(kv.watcher_start_ticks), bootId: kv.boot_id },
      agent: kv.agent_pid
        ? { pid: Number(kv.agent_pid), startTicks: Number(kv.agent_start_ticks), bootId: kv.boot_id }
        : undefined,
    };
  } catch {
    return undefined; // unreadable or garbled: it proves no job
  }
}

/**
 * Claim the work tree for a launched job, naming its watcher and agent (written by the watcher once
 * the agent runs); best-effort: a git dir it cannot write costs only the claim.
 */
export function claimWorktree(
  root: string,
  worktree: string,
  job: { provider: string; beads: string; runInstance: string; watcher: ProcessIdentity; agent?: ProcessIdentity },
): void {
  const file = claimFile(worktree);
  if (!file) return;
  try {
    writeFileAtomic(
      file,
      serializeKv({
        state_root: fs.realpathSync(root),
        provider: job.provider,
        beads: job.beads,
        run_instance: job.runInstance,
        watcher_pid: job.watcher.pid,
        watcher_start_ticks: job.watcher.startTicks,
        boot_id: job.watcher.bootId,
        agent_pid: job.agent?.pid,
        agent_start_ticks: job.agent?.startTicks,
      }),
      0o600,
      // it names processes, which a reboot ends: nothing to keep through one
      { durable: false },
    );
  } catch {
    // another user's repository, a read-only git dir: the records of this root still guard it
  }
}

/** Drop the job's claim when it ends; a claim made since by another job is left alone. */
export function releaseWorktreeClaim(worktree: string, runInstance: string): void {
  const file = claimFile(worktree);
  if (!file || readClaim(file)?.runInstance !== runInstance) return;
  fs.rmSync(file, { force: true });
}

/** The claim on the work tree `worktree` is in, when there is a readable one. */
export function claimOf(worktree: string): WorktreeClaim | undefined {
  const file = claimFile(worktree);
  return file ? readClaim(file) : undefined;
}
