import path from 'node:path';
import { checkWorktree, isDxError, itemWorktreeCandidates, type Policy } from '@dx/core';

export type WorktreeResolution = { ok: true; worktree: string } | { ok: false; reasonCode: string; detail: string };

/**
 * An item works in the single git worktree under `<base>/<beads>/` (dx-worktree's layout), passed
 * to dx-runner explicitly; none or several is a clear failure, and dx-runner's worktree gate
 * (allowed prefixes, no canonical repo) applies on top.
 */
export function resolveItemWorktree(base: string, beads: string, policy: Policy): WorktreeResolution {
  const dir = path.join(base, beads);
  const repos = itemWorktreeCandidates([base], beads);
  if (repos.length === 0)
    return {
      ok: false,
      reasonCode: 'worktree_missing',
      detail: `no git worktree under ${dir} (create one: dx-worktree create ${beads} <repo>)`,
    };
  if (repos.length > 1)
    return {
      ok: false,
      reasonCode: 'worktree_ambiguous',
      detail: `several git worktrees under ${dir}: ${repos.join(', ')}; keep exactly one`,
    };
  try {
    return { ok: true, worktree: checkWorktree(repos[0], policy).worktree };
  } catch (err) {
    if (isDxError(err)) return { ok: false, reasonCode: err.reasonCode, detail: err.message };
    throw err;
  }
}
