import type { FeatureKeyGateOutput } from '../schemas/gates.js';
import { git } from '../process/git.js';
import { assertSha, resolveCommit, resolveGateTarget, verdict } from './target.js';

/** A beads id as a commit trailer value: `<prefix>-<hash>` with optional `.N` parts. */
export const FEATURE_KEY_PATTERN = /^[A-Za-z][A-Za-z0-9_]*-[A-Za-z0-9]+(\.[A-Za-z0-9]+)*$/;

async function defaultBase(worktree: string, baseBranch?: string): Promise<{ sha?: string; name: string }> {
  const names = baseBranch ? [baseBranch] : ['origin/HEAD', 'main', 'master', 'origin/main', 'origin/master'];
  for (const name of names) {
    const head = await resolveCommit(worktree, 'HEAD');
    const tip = await resolveCommit(worktree, name);
    if (!tip || !head) continue;
    const mb = await git(worktree, ['merge-base', tip, head]);
    if (mb.code === 0) return { sha: mb.stdout.trim(), name };
  }
  return { name: baseBranch ?? 'main/master' };
}

/**
 * Feature-key gate: every commit of the job's range carries the trailer `Feature-Key: <key>`,
 * read with git's own trailer parser. The range starts at --base, else the job's start commit,
 * else the merge base with --base-branch (default main, then master).
 */
export async function featureKeyGate(options: {
  root?: string;
  beads?: string;
  worktree?: string;
  featureKey?: string;
  base?: string;
  baseBranch?: string;
}): Promise<FeatureKeyGateOutput> {
  const baseFlag = options.base ? assertSha(options.base, '--base') : undefined;
  const key = options.featureKey ?? options.beads ?? null;
  const resolved = await resolveGateTarget(options);
  const empty = {
    feature_key: key,
    base: baseFlag ?? null,
    head: null,
    checked_commits: 0,
    missing_commits: [] as string[],
  };
  if (!resolved.ok)
    return { ...verdict('feature_key', resolved, false, resolved.reasonCode, resolved.details), ...empty };
  const t = resolved.target;
  if (!key)
    return {
      ...verdict(
        'feature_key',
        t,
        false,
        'feature_key_missing',
        'no --feature-key given and no --beads to take it from',
      ),
      ...empty,
    };
  if (!FEATURE_KEY_PATTERN.test(key)) {
    return {
      ...verdict(
        'feature_key',
        t,
        false,
        'feature_key_invalid_format',
        `feature key "${key}" must look like a beads id (${FEATURE_KEY_PATTERN.source})`,
      ),
      ...empty,
    };
  }
  const head = (await resolveCommit(t.worktree, 'HEAD')) ?? null;
  let base = baseFlag ?? t.startHead;
  let baseName = base ? base.slice(0, 12) : '';
  // a job begun on an unborn branch: every commit of HEAD's history is the job's
  const wholeHistory = !base && t.startedUnborn;
  if (wholeHistory) baseName = "the job's start on an unborn branch";
  else if (!base) {
    const found = await defaultBase(t.worktree, options.baseBranch);
    base = found.sha;
    baseName = found.name;
  }
  if (!wholeHistory && (!base || !head)) {
    return {
      ...verdict(
        'feature_key',
        t,
        false,
        'base_missing',
        `cannot find the range's base (${baseName}); pass --base or --base-branch`,
      ),
      ...empty,
      head,
    };
  }
  const log = head
    ? await git(t.worktree, [
        'log',
        '--format=%H%x1f%(trailers:key=Feature-Key,valueonly,separator=%x1e)%x1d',
        base ? `${base}..${head}` : head,
      ])
    : { code: 0, stdout: '', stderr: '', timedOut: false };
  // a git that cannot walk the range (a missing object, a timeout) is what the gate says: its empty
  // output is no "no commits", which would send the operator to look for work never committed
  if (log.code !== 0)
    return {
      ...verdict(
        'feature_key',
        t,
        false,
        'worktree_unreadable',
        `the range's commits cannot be read: ${log.timedOut ? '' : 'git log failed: '}${log.stderr.trim().split('\n')[0] || `exit ${log.code}`}`,
      ),
      ...empty,
      base: base ?? null,
      head,
    };
  const commits = log.stdout
    .split('\x1d')
    .map((r) => r.trim())
    .filter(Boolean)
    .map((r) => {
      const [sha, trailers = ''] = r.split('\x1f');
      return {
        sha: sha.trim(),
        keys: trailers
          .split('\x1e')
          .map((v) => v.trim())
          .filter(Boolean),
      };
    });
  const out = { feature_key: key, base: base ?? null, head, checked_commits: commits.length };
  if (commits.length === 0)
    return {
      ...verdict(
        'feature_key',
        t,
        false,
        'no_commits_in_range',
        base ? `no commits in ${baseName}..HEAD` : `no commits since ${baseName}`,
      ),
      ...out,
      missing_commits: [],
    };
  const missing = commits.filter((c) => !c.keys.includes(key)).map((c) => c.sha);
  if (missing.length > 0) {
    return {
      ...verdict(
        'feature_key',
        t,
        false,
        'feature_key_missing_in_commits',
        `${missing.length}/${commits.length} commits lack the trailer Feature-Key: ${key} (${missing.map((s) => s.slice(0, 12)).join(', ')})`,
      ),
      ...out,
      missing_commits: missing,
    };
  }
  return {
    ...verdict('feature_key', t, true, 'feature_key_ok', `all ${commits.length} commits carry Feature-Key: ${key}`),
    ...out,
    missing_commits: [],
  };
}
