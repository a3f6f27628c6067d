import type { BaselineGateOutput } from '../schemas/gates.js';
import { assertSha, isAncestor, isShallow, resolveCommit, resolveGateTarget, verdict } from './target.js';

/**
 * Baseline gate: the worktree's HEAD contains the required commit (runtime commit verification).
 * A shallow clone that lacks the commit is reported as missing, never as "not met".
 */
export async function baselineGate(options: {
  root?: string;
  beads?: string;
  worktree?: string;
  requiredBaseline: string;
}): Promise<BaselineGateOutput> {
  const required = assertSha(options.requiredBaseline, '--required-baseline');
  const resolved = await resolveGateTarget(options);
  if (!resolved.ok)
    return { ...verdict('baseline', resolved, false, resolved.reasonCode, resolved.details), runtime: null, required };
  const t = resolved.target;
  const out = (passed: boolean, reason: string, details: string, runtime: string | null) => ({
    ...verdict('baseline', t, passed, reason, details),
    runtime,
    required,
  });
  const head = await resolveCommit(t.worktree, 'HEAD');
  if (!head) return out(false, 'runtime_commit_missing', 'the worktree has no HEAD commit', null);
  const full = await resolveCommit(t.worktree, required);
  if (!full) {
    const shallow = (await isShallow(t.worktree)) ? ' (shallow clone: fetch more history)' : '';
    return out(
      false,
      'required_baseline_missing',
      `required commit ${required} is not in this repository${shallow}`,
      head,
    );
  }
  if (await isAncestor(t.worktree, full, head))
    return out(true, 'baseline_ok', `HEAD ${head.slice(0, 12)} contains ${full.slice(0, 12)}`, head);
  return out(
    false,
    'baseline_not_met',
    `HEAD ${head.slice(0, 12)} does not contain the required baseline ${full.slice(0, 12)}`,
    head,
  );
}
