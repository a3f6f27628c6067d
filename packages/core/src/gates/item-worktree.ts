import path from 'node:path';
import { isDxError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import type { ItemWorktreeGateOutput } from '../schemas/gates.js';
import { verdict } from './target.js';
import { checkWorktree, itemWorktreeCandidates } from './worktree.js';

export type ItemWorktree = { ok: true; worktree: string } | { ok: false; reasonCode: string; detail: string };

/**
 * An item works in the single git worktree under `<base>/<beads>/` (dx-worktree's layout); none or
 * several is a clear failure, and the worktree gate (allowed prefixes, no canonical repo) of this
 * machine's policy applies on top. dx-batch asks each host this question of its own disk.
 */
export function resolveItemWorktree(base: string, beads: string, policy: Policy): ItemWorktree {
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

/** `dx-runner worktree-gate`: the item's worktree on this machine, as a gate verdict. */
export function itemWorktreeGate(options: { beads: string; base: string; policy: Policy }): ItemWorktreeGateOutput {
  const found = resolveItemWorktree(options.base, options.beads, options.policy);
  const target = { beads: options.beads, worktree: found.ok ? found.worktree : null };
  return {
    ...(found.ok
      ? verdict('worktree', target, true, 'worktree_found', `the item's worktree is ${found.worktree}`)
      : verdict('worktree', target, false, found.reasonCode, found.detail)),
    base: options.base,
  };
}
