/**
 * What a job's worktree must not share, or the watcher would count changes that are not the
 * agent's as its work: another running agent, or the job's own records.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import { isWithin, workTreeGitDir, workTreeRoot } from '../gates/worktree.js';
import { git } from '../process/git.js';
import { processStatus, type ProcessIdentity } from '../process/identity.js';
import { jobPaths, listBeadsInProviderDir, listProviderDirs, type JobPaths } from '../state/layout.js';
import { acquireLock, LockTimeoutError, type Lock } from '../state/lock.js';
import { isLive, loadJob } from './store.js';
import { claimOf } from './worktree-claim.js';

/** Whether two jobs' worktrees overlap: one work tree, or one directory inside the other. */
function overlapping(a: string, b: string): boolean {
  return isWithin(a, b) || isWithin(b, a) || workTreeRoot(a) === workTreeRoot(b);
}

/**
 * Held by a launch from before it looks for another job in the worktree until its own job is on
 * record as live, so two starts into one work tree at the same instant cannot both find it free.
 */
export async function lockWorktree(root: string, worktree: string, timeoutMs = 60_000): Promise<Lock> {
  const name = `worktree-${createHash('sha256').update(workTreeRoot(worktree)).digest('hex').slice(0, 24)}`;
  try {
    return await acquireLock(root, name, timeoutMs);
  } catch (err) {
    if (!(err instanceof LockTimeoutError)) throw err;
    throw new DxError(`worktree ${worktree} is being started in by another command: ${err.message}`, {
      exitCode: ExitCode.general,
      reasonCode: 'lock_timeout',
      nextAction: 'retry_or_run_dx_runner_prune',
    });
  }
}

/**
 * Two agents in one worktree would each count the other's changes as their own: a job that did
 * nothing would read as a success made of the other's work. Two subdirectories of one repository
 * are one worktree here (one status, one HEAD), as is a directory inside another. A read-only job (expect no changes)
 * may share a worktree; only a live job with a pid file can be running an agent there.
 */
export function assertWorktreeFree(root: string, beads: string, worktree: string, expectNoChanges: boolean): void {
  if (expectNoChanges) return;
  assertNoGitLock(worktree);
  assertNoClaimTheRecordsMiss(root, worktree);
  for (const provider of listProviderDirs(root)) {
    for (const other of listBeadsInProviderDir(root, provider, '.pid')) {
      if (other === beads) continue;
      const job = loadJob(jobPaths(root, provider, other));
      // a job whose watcher was lost while its agent runs on still has an agent in the worktree
      const agentThere = isLive(job) || (!job.outcome && job.agentAlive);
      const theirs = job.meta?.worktree;
      if (!theirs || job.meta?.expect_no_changes || !agentThere || !overlapping(theirs, worktree)) continue;
      const where = theirs === worktree ? '' : `, working in ${theirs} of the same work tree ${workTreeRoot(worktree)}`;
      throw new DxError(
        `worktree ${worktree} is in use by job ${other} (provider ${provider}${where}, ${isLive(job) ? 'running' : 'its watcher lost, its agent still running: run dx-runner prune'}): two agents in one worktree would each count the other's changes as their own; give each job its own worktree, or wait for ${other}`,
        {
          exitCode: ExitCode.general,
          reasonCode: 'worktree_in_use',
          nextAction: 'give_each_job_its_own_worktree_or_wait',
        },
      );
    }
  }
}

/**
 * A job the records above miss: one of another state root (a cron line's `DX_RUNNER_STATE_DIR`,
 * not the operator's shell's), or one of this root whose meta is unreadable. Its claim in the work
 * tree's git dir names it (worktree-claim).
 */
function assertNoClaimTheRecordsMiss(root: string, worktree: string): void {
  const claim = claimOf(worktree);
  if (!claim) return;
  // this root's own jobs are judged by their records above (a lost watcher's agent included),
  // unless the claiming job's meta is there but garbled: then by the claim. Removed job files are
  // a clean-up: the start goes on, and the watcher that lost its records ends its own agent.
  const ours = claim.stateRoot === fs.realpathSync(root);
  if (ours && !(claim.provider && claim.beads && metaGarbled(jobPaths(root, claim.provider, claim.beads)))) return;
  const alive = (id: ProcessIdentity | undefined) => id !== undefined && processStatus(id).status === 'alive';
  if (!alive(claim.watcher) && !alive(claim.agent)) return;
  const whose = ours
    ? `(provider ${claim.provider}, its record unreadable, still running: run dx-runner stop --beads ${claim.beads})`
    : `(provider ${claim.provider}) of another state root, ${claim.stateRoot}`;
  throw new DxError(
    `worktree ${worktree} is in use by job ${claim.beads} ${whose}: two agents in one worktree would each count the other's changes as their own; give each job its own worktree, or wait for ${claim.beads}`,
    {
      exitCode: ExitCode.general,
      reasonCode: 'worktree_in_use',
      nextAction: 'give_each_job_its_own_worktree_or_wait',
    },
  );
}

function metaGarbled(paths: JobPaths): boolean {
  const job = loadJob(paths);
  return !job.meta && job.corrupt?.file === paths.meta;
}

/**
 * The locks a commit takes in the worktree's repository: its index, HEAD, and the branch HEAD is on
 * (in the common repository of a linked worktree).
 */
function commitLocks(worktree: string): string[] {
  const repository = workTreeGitDir(worktree);
  if (!repository) return [];
  const locks = [path.join(repository, 'index.lock'), path.join(repository, 'HEAD.lock')];
  try {
    const branch = /^ref:\s*(refs\/heads\/\S+)/.exec(fs.readFileSync(path.join(repository, 'HEAD'), 'utf8'))?.[1];
    const commonFile = path.join(repository, 'commondir');
    const common = fs.existsSync(commonFile)
      ? path.resolve(repository, fs.readFileSync(commonFile, 'utf8').trim())
      : repository;
    if (branch) locks.push(path.join(common, `${branch}.lock`));
  } catch {
    // HEAD unreadable: git will say so to the agent; the index and HEAD locks are still looked at
  }
  return locks;
}

/**
 * A git lock in the worktree's repository: another git is at work there (a person's commit
 * waiting in its editor), or one was killed before it could remove it (the OOM killer, a crash).
 * Either way every `git add` or `git commit` the agent tried would fail ("Unable to create
 * index.lock: File exists", "cannot lock ref 'HEAD'") and a night's work would end uncommitted:
 * refused before it starts.
 */
function assertNoGitLock(worktree: string): void {
  for (const lock of commitLocks(worktree)) {
    let since: Date;
    try {
      since = fs.statSync(lock).mtime;
    } catch {
      continue;
    }
    throw new DxError(
      `worktree ${worktree} has a git lock (${lock}, since ${since.toISOString()}): another git is at work there, or one was killed before it removed it; the agent's git add and commit would fail. Wait for that git, or remove the file if none runs`,
      {
        exitCode: ExitCode.general,
        reasonCode: 'worktree_git_locked',
        nextAction: 'wait_for_the_other_git_or_remove_its_lock',
      },
    );
  }
}

/**
 * The job's own records (its log, heartbeat, HOME) must not be among the changes the watcher
 * counts: with the state root inside the worktree, an agent that did nothing read as a success
 * that changed six files. A root git ignores there is not counted, so it is taken.
 */
export async function assertRecordsOutsideWorktree(root: string, worktree: string): Promise<void> {
  const realRoot = fs.realpathSync(root);
  // a worktree in a subdirectory of a repository is watched as the whole repository's status
  if (!isWithin(realRoot, workTreeRoot(worktree))) return;
  const ignored = await git(worktree, ['check-ignore', '-q', '--', path.relative(worktree, realRoot) || '.']);
  if (ignored.code === 0) return;
  throw new DxError(
    `the state root ${realRoot} is inside the worktree ${worktree}: the job's own records would read as its changes; set DX_RUNNER_STATE_DIR outside the worktree (or have git ignore it there)`,
    {
      exitCode: ExitCode.permissionDenied,
      reasonCode: 'state_root_inside_worktree',
      nextAction: 'move_the_state_root_out_of_the_worktree',
    },
  );
}
