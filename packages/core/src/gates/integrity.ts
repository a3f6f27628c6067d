import type { IntegrityGateOutput } from '../schemas/gates.js';
import { assertSha, isAncestor, resolveCommit, resolveGateTarget, verdict } from './target.js';

/**
 * Integrity gate: the commit an agent reports exists, is on the worktree's branch (an ancestor of
 * HEAD) and descends from the job's base. Without --reported-commit the job's last commit is used.
 */
export async function integrityGate(options: {
  root?: string;
  beads?: string;
  worktree?: string;
  reportedCommit?: string;
  base?: string;
}): Promise<IntegrityGateOutput> {
  const reportedFlag = options.reportedCommit ? assertSha(options.reportedCommit, '--reported-commit') : undefined;
  const baseFlag = options.base ? assertSha(options.base, '--base') : undefined;
  const resolved = await resolveGateTarget(options);
  if (!resolved.ok)
    return {
      ...verdict('integrity', resolved, false, resolved.reasonCode, resolved.details),
      head: null,
      base: baseFlag ?? null,
      reported: reportedFlag ?? null,
    };
  const t = resolved.target;
  const reported = reportedFlag ?? t.job?.outcome?.commits?.at(-1);
  const base = baseFlag ?? t.startHead ?? null;
  const head = (await resolveCommit(t.worktree, 'HEAD')) ?? null;
  const out = (passed: boolean, reason: string, details: string, rep: string | null) => ({
    ...verdict('integrity', t, passed, reason, details),
    head,
    base,
    reported: rep,
  });
  if (!reported)
    return out(
      false,
      'reported_commit_missing',
      t.job
        ? `job ${t.beads} reported no commit and --reported-commit was not given`
        : '--reported-commit was not given',
      null,
    );
  const full = await resolveCommit(t.worktree, reported);
  if (!full)
    return out(
      false,
      'reported_commit_not_found',
      `reported commit ${reported} does not exist in ${t.worktree}`,
      reported,
    );
  if (!head || !(await isAncestor(t.worktree, full, head))) {
    return out(
      false,
      'reported_not_ancestor',
      `reported commit ${full.slice(0, 12)} is not in the history of HEAD ${head?.slice(0, 12) ?? '(none)'}`,
      full,
    );
  }
  if (base) {
    const baseFull = await resolveCommit(t.worktree, base);
    if (!baseFull || !(await isAncestor(t.worktree, baseFull, full))) {
      return out(
        false,
        'reported_not_ancestor',
        `reported commit ${full.slice(0, 12)} does not descend from the job's base ${base.slice(0, 12)}`,
        full,
      );
    }
  }
  return out(
    true,
    'integrity_ok',
    `reported commit ${full.slice(0, 12)} is on HEAD's history${base ? ` and descends from ${base.slice(0, 12)}` : ''}`,
    full,
  );
}
