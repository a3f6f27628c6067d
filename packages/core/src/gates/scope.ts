import path from 'node:path';
import { inputFileProblem, readInputFile } from '../config/input-file.js';
import type { ScopeGateOutput } from '../schemas/gates.js';
import { git } from '../process/git.js';
import { isToolArtifact } from '../jobs/artifacts.js';
import { assertSha, resolveGateTarget, verdict } from './target.js';

/** `*` within a path segment, `**` across segments, `?` one character; a plain entry is a path prefix. */
export function pathMatcher(pattern: string): (file: string) => boolean {
  const p = pattern.replace(/^\.\//, '');
  if (!/[*?[]/.test(p)) {
    const prefix = p.replace(/\/+$/, '');
    return (file) => file === prefix || file.startsWith(`${prefix}/`);
  }
  let re = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '*' && p[i + 1] === '*') {
      re += p[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += p[i + 2] === '/' ? 2 : 1;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  const rx = new RegExp(`^${re}(?:/.*)?$`);
  return (file) => rx.test(file);
}

/**
 * An allowlist entry as a matcher of paths from the work tree's top: entries are written from the
 * job's directory (`prefix`, git's `--show-prefix`: `packages/a/` for a job begun there, empty at the
 * top), so `src/` means `packages/a/src/` and `../../package-lock.json` the top's lock file. An
 * entry reaching above the work tree matches nothing.
 */
export function scopedPathMatcher(entry: string, prefix: string): (file: string) => boolean {
  const resolved = path.posix.normalize(`${prefix}${entry.replace(/^\.\//, '')}`);
  if (resolved === '..' || resolved.startsWith('../')) return () => false;
  // "." names the job's whole directory
  if (resolved === '.' || resolved === './') return prefix ? pathMatcher(prefix) : () => true;
  return pathMatcher(resolved);
}

/** An allowed-paths list is a few globs: a file past this is not one. */
const MAX_ALLOWED_PATHS_BYTES = 1024 * 1024;

/** The globs of an allowed-paths file (one per line, `#` comments); throws an InputFileError. */
export function readAllowedPaths(file: string, options: { pipes?: boolean } = {}): string[] {
  return readInputFile(file, MAX_ALLOWED_PATHS_BYTES, options)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

/** The repository's empty tree (its hash depends on the repository's hash function). */
async function emptyTree(worktree: string): Promise<string | undefined> {
  const r = await git(worktree, ['hash-object', '-t', 'tree', '/dev/null']);
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/**
 * Every path the job changed, named from the work tree's top (as its outcome names them); new
 * untracked tool leftovers (byte-code, a test cache: see jobs/artifacts) are no change of the job's.
 * A git call that fails (or did not answer in time: a clean filter that hangs) is what the gate
 * says, never an empty list that would pass it.
 */
async function changedFiles(worktree: string, base: string | undefined): Promise<string[] | { failure: string }> {
  const ask = async (args: string[]) => {
    const r = await git(worktree, args);
    if (r.code !== 0)
      throw new GitQueryFailed(`git ${args[0]} failed: ${r.stderr.trim().split('\n')[0] || `exit ${r.code}`}`);
    return r.stdout.split('\0');
  };
  const files = new Set<string>();
  try {
    if (base) {
      for (const f of await ask(['diff', '--name-only', '-z', base])) if (f) files.add(f);
      for (const f of await ask(['ls-files', '--others', '--exclude-standard', '--full-name', '-z']))
        if (f && !isToolArtifact(f)) files.add(f);
    } else {
      const parts = await ask(['status', '--porcelain=v1', '-z', '--untracked-files=all']);
      for (let i = 0; i < parts.length; i++) {
        const e = parts[i];
        if (e.length < 4) continue;
        if (!(e.startsWith('??') && isToolArtifact(e.slice(3)))) files.add(e.slice(3));
        if (e[0] === 'R' || e[0] === 'C') i++;
      }
    }
  } catch (err) {
    if (err instanceof GitQueryFailed) return { failure: err.message };
    throw err;
  }
  return [...files].sort();
}

class GitQueryFailed extends Error {}

/**
 * Scope gate: the files the job changed (since its start commit, committed or not, plus new
 * files) stay inside the allowlist, and their count within the mutation budget.
 */
export async function scopeGate(options: {
  root?: string;
  beads?: string;
  worktree?: string;
  allowedPathsFile?: string;
  mutationBudget?: number;
  base?: string;
}): Promise<ScopeGateOutput> {
  const baseFlag = options.base ? assertSha(options.base, '--base') : undefined;
  const resolved = await resolveGateTarget(options);
  const budget = options.mutationBudget ?? null;
  const empty = {
    base: baseFlag ?? null,
    mutations: 0,
    mutation_budget: budget,
    allowed_paths: [] as string[],
    changed_files: [] as string[],
    violations: [] as string[],
  };
  if (!resolved.ok) return { ...verdict('scope', resolved, false, resolved.reasonCode, resolved.details), ...empty };
  const t = resolved.target;
  let allowed: string[] = [];
  if (options.allowedPathsFile) {
    try {
      allowed = readAllowedPaths(options.allowedPathsFile);
    } catch (err) {
      return {
        ...verdict(
          'scope',
          t,
          false,
          'allowed_paths_file_unreadable',
          `allowed paths file ${options.allowedPathsFile}: ${inputFileProblem(err)}`,
        ),
        ...empty,
      };
    }
  }
  const base = baseFlag ?? t.startHead;
  // a job begun on an unborn branch changed everything there is: compare with the empty tree
  const changed = await changedFiles(t.worktree, base ?? (t.startedUnborn ? await emptyTree(t.worktree) : undefined));
  if (!Array.isArray(changed))
    return {
      ...verdict('scope', t, false, 'worktree_unreadable', `what the job changed cannot be read: ${changed.failure}`),
      ...empty,
      base: base ?? null,
    };
  const files = changed;
  const matchers = allowed.map((entry) => scopedPathMatcher(entry, t.prefix));
  const violations = options.allowedPathsFile ? files.filter((f) => !matchers.some((m) => m(f))) : [];
  const out = {
    base: base ?? null,
    mutations: files.length,
    mutation_budget: budget,
    allowed_paths: allowed,
    changed_files: files,
    violations,
  };
  const overBudget = budget !== null && files.length > budget;
  if (violations.length > 0) {
    return {
      ...verdict(
        'scope',
        t,
        false,
        'path_outside_allowlist',
        `${violations.length} changed path(s) outside the allowlist: ${violations.slice(0, 10).join(', ')}${overBudget ? `; also ${files.length} changes > budget ${budget}` : ''}`,
      ),
      ...out,
    };
  }
  if (overBudget)
    return {
      ...verdict('scope', t, false, 'mutation_budget_exceeded', `${files.length} changed files > budget ${budget}`),
      ...out,
    };
  const what = [
    options.allowedPathsFile
      ? `all ${files.length} changed files inside the allowlist`
      : `${files.length} changed files`,
    budget !== null ? `within budget ${budget}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return { ...verdict('scope', t, true, 'scope_ok', what), ...out };
}
