import fs from 'node:fs';
import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import { assertBeadsId } from '../jobs/beads-id.js';
import { requireJob, type JobSnapshot } from '../jobs/store.js';
import { git } from '../process/git.js';
import { nextActionFor, nextActionText } from '../health/next-actions.js';

/** What a gate looks at: a git worktree, and the job that ran in it when --beads is given. */
export interface GateTarget {
  /** The work tree's top (git names every path from there). */
  worktree: string;
  /** The job's (or the given) directory under that top, as git's `--show-prefix`: `packages/a/`, or empty. */
  prefix: string;
  beads: string | null;
  job?: JobSnapshot;
  /** HEAD when the job was launched (from its outcome or heartbeat). */
  startHead?: string;
  /**
   * The job began on a branch with no commit yet (`git init`, then start): everything in the
   * worktree now is the job's, committed or not.
   */
  startedUnborn: boolean;
}

export interface GateVerdict {
  gate: string;
  passed: boolean;
  reason_code: string;
  next_action: string;
  next_action_text: string;
  details: string;
  beads: string | null;
  worktree: string | null;
}

export function verdict(
  gate: string,
  target: { beads: string | null; worktree: string | null },
  passed: boolean,
  reasonCode: string,
  details: string,
): GateVerdict {
  const next = nextActionFor(reasonCode);
  return {
    gate,
    passed,
    reason_code: reasonCode,
    next_action: next,
    next_action_text: nextActionText(next) ?? '',
    details,
    beads: target.beads,
    worktree: target.worktree,
  };
}

/** A hex commit id (abbreviated or full); refs are refused so a gate can never be pointed at a moving target. */
export function assertSha(value: string, flag: string): string {
  if (!/^[0-9a-f]{4,40}$/i.test(value)) {
    throw new DxError(`${flag} must be a hex commit SHA (4-40 characters), got "${value.slice(0, 60)}"`, {
      exitCode: ExitCode.usage,
      reasonCode: 'invalid_sha',
      nextAction: `pass_a_commit_sha_to_${flag}`,
    });
  }
  return value.toLowerCase();
}

export type ResolvedTarget =
  | { ok: true; target: GateTarget }
  | {
      ok: false;
      reasonCode: 'worktree_missing' | 'not_a_git_repo';
      details: string;
      beads: string | null;
      worktree: string | null;
    };

/** --beads (the job's worktree) or --worktree, else the git worktree containing cwd. */
export async function resolveGateTarget(options: {
  root?: string;
  beads?: string;
  worktree?: string;
  cwd?: string;
}): Promise<ResolvedTarget> {
  let job: JobSnapshot | undefined;
  let worktree: string;
  const beads = options.beads ? assertBeadsId(options.beads) : null;
  if (beads) {
    job = requireJob(options.root, beads);
    if (!job.meta)
      throw new DxError(`cannot read job ${beads}: ${job.corrupt?.message ?? 'no metadata'}`, {
        exitCode: ExitCode.general,
        reasonCode: 'state_file_corrupt',
      });
    worktree = options.worktree ? path.resolve(options.worktree) : job.meta.worktree;
  } else {
    worktree = path.resolve(options.cwd ?? process.cwd(), options.worktree ?? '.');
  }
  if (!fs.existsSync(worktree) || !fs.statSync(worktree).isDirectory()) {
    return { ok: false, reasonCode: 'worktree_missing', details: `worktree not found: ${worktree}`, beads, worktree };
  }
  const top = await git(worktree, ['rev-parse', '--show-toplevel', '--show-prefix']);
  if (top.code !== 0)
    return { ok: false, reasonCode: 'not_a_git_repo', details: `not a git worktree: ${worktree}`, beads, worktree };
  const startHead = job?.outcome?.start_head ?? job?.heartbeat?.start_head;
  // a launched job records its start commit; none recorded means there was none
  const startedUnborn = !startHead && (job?.outcome ?? job?.heartbeat) !== undefined;
  const [toplevel, prefix = ''] = top.stdout.replace(/\n$/, '').split('\n');
  return { ok: true, target: { worktree: toplevel, prefix, beads, job, startHead, startedUnborn } };
}

export async function resolveCommit(worktree: string, sha: string): Promise<string | undefined> {
  const r = await git(worktree, ['rev-parse', '-q', '--verify', `${sha}^{commit}`]);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

export async function isAncestor(worktree: string, ancestor: string, descendant: string): Promise<boolean> {
  return (await git(worktree, ['merge-base', '--is-ancestor', ancestor, descendant])).code === 0;
}

export async function isShallow(worktree: string): Promise<boolean> {
  return (await git(worktree, ['rev-parse', '--is-shallow-repository'])).stdout.trim() === 'true';
}
