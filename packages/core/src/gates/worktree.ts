import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import { git, withoutRepositoryEnv, type GitResult } from '../process/git.js';

export interface WorktreeDecision {
  /** The path as given (or discovered). */
  requested: string;
  /** After resolving symlinks and "..": the directory the agent really runs in. */
  worktree: string;
  allowedPrefix: string;
}

function denied(message: string, reasonCode: string, nextAction: string, details: Record<string, unknown>): DxError {
  return new DxError(message, { exitCode: ExitCode.permissionDenied, reasonCode, nextAction, details });
}

function realOrResolved(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/** Inside or equal, with a path separator boundary: /tmp/agentsX is not inside /tmp/agents. */
export function isWithin(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function gitToplevel(dir: string): string | undefined {
  try {
    return (
      execFileSync('git', ['rev-parse', '--show-toplevel'], {
        cwd: dir,
        env: withoutRepositoryEnv(process.env),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/**
 * Which directory a job runs in: --worktree, else DX_RUNNER_DEFAULT_WORKTREE, else the git worktree
 * containing cwd. A --worktree that does not exist is an error, never a silent fallback.
 */
export function locateWorktree(
  requested: string | undefined,
  options: { cwd: string; env: NodeJS.ProcessEnv },
): string {
  const given = requested ?? options.env.DX_RUNNER_DEFAULT_WORKTREE;
  if (given) {
    const abs = path.resolve(options.cwd, given);
    if (!fs.existsSync(abs)) {
      throw denied(
        `worktree does not exist: ${abs}`,
        'worktree_missing',
        'create_the_worktree_first_e.g._dx-worktree_create',
        { worktree: abs },
      );
    }
    return abs;
  }
  const top = gitToplevel(options.cwd);
  if (!top) {
    throw denied(
      `no worktree: pass --worktree /tmp/agents/<beads>/<repo> (cwd ${options.cwd} is not inside a git worktree)`,
      'worktree_missing',
      'pass_--worktree_pointing_at_the_task_worktree',
      { cwd: options.cwd },
    );
  }
  return top;
}

/**
 * The worktree-only permission gate: agents mutate only inside the allowed
 * prefixes and never inside a canonical clone. Decided on the real path, so a symlink or ".." that
 * escapes is judged by where it lands.
 */
export function checkWorktree(requested: string, policy: Policy): WorktreeDecision {
  const abs = path.resolve(requested);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    throw denied(
      `worktree does not exist: ${abs}`,
      'worktree_missing',
      'create_the_worktree_first_e.g._dx-worktree_create',
      { worktree: abs },
    );
  }
  if (!fs.statSync(real).isDirectory()) {
    throw denied(`worktree is not a directory: ${real}`, 'worktree_not_directory', 'pass_a_worktree_directory', {
      worktree: real,
    });
  }
  const via = real !== abs ? ` (${abs} resolves to ${real})` : '';
  for (const repo of policy.worktrees.forbiddenRepos) {
    const canonical = realOrResolved(repo);
    if (isWithin(real, canonical)) {
      throw denied(
        `mutating execution forbidden in canonical repo ${canonical}${via}; use a worktree: dx-worktree create <beads> ${path.basename(canonical)}`,
        'canonical_worktree_forbidden',
        `dx-worktree_create_<beads>_${path.basename(canonical)}`,
        { worktree: real, canonical_repo: canonical },
      );
    }
  }
  for (const prefix of policy.worktrees.allowedPrefixes) {
    const allowed = realOrResolved(prefix);
    if (isWithin(real, allowed)) return { requested: abs, worktree: real, allowedPrefix: allowed };
  }
  throw denied(
    `worktree ${real}${via} is outside the allowed prefixes (${policy.worktrees.allowedPrefixes.join(', ') || 'none'})`,
    'worktree_outside_allowed_prefixes',
    'use_a_worktree_under_an_allowed_prefix_or_add_one_to_the_policy',
    { worktree: real, allowed_prefixes: policy.worktrees.allowedPrefixes },
  );
}

/**
 * A folder to make throw-away worktrees in (the demos), made when it does not exist yet: an allowed
 * prefix itself (a fresh host has no /tmp/agents yet), or a folder whose nearest existing parent
 * passes the worktree gate, judged on its real path so that a symlink on the way cannot lead the
 * creation out of the prefixes. Nothing is created outside them. Returns its real path.
 */
export function ensureWorktreeBase(base: string, policy: Policy): string {
  const abs = path.resolve(base);
  const prefix = policy.worktrees.allowedPrefixes.map((p) => path.resolve(p)).find((p) => isWithin(abs, p));
  if (prefix) fs.mkdirSync(prefix, { recursive: true });
  const exists = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined;
  if (!exists(abs)) {
    let existing = path.dirname(abs);
    while (!exists(existing)) existing = path.dirname(existing);
    checkWorktree(existing, policy);
    fs.mkdirSync(abs, { recursive: true });
  }
  return checkWorktree(abs, policy).worktree;
}

/**
 * dx-worktree's layout: an item's checkouts live at `<prefix>/<beads>/<repo>/`. Every such directory
 * holding a `.git` (a repo or a linked worktree), under each prefix, in order; `repo` narrows it to one name.
 */
export function itemWorktreeCandidates(prefixes: string[], beads: string, repo?: string): string[] {
  const found: string[] = [];
  for (const prefix of prefixes) {
    const dir = path.join(prefix, beads);
    let names: string[];
    try {
      names = fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name)
        .sort();
    } catch {
      continue;
    }
    for (const name of names)
      if ((!repo || name === repo) && fs.existsSync(path.join(dir, name, '.git'))) found.push(path.join(dir, name));
  }
  return found;
}

/** git's refusal of a repository another user owns (safe.directory; the second form is git 2.35.2–2.35.x). */
const DUBIOUS_OWNERSHIP =
  /detected dubious ownership in repository at '([^']*)'|unsafe repository \('([^']*)' is owned by someone else\)/;
/** git found no repository at all here: the worktree is a plain directory. */
const NO_REPOSITORY = /not a git repository \(or any (?:of the parent directories|parent up to mount point)/;
/** What our git helper answers when git itself cannot be started. */
const GIT_NOT_RUNNABLE = 127;

/**
 * The work tree a directory belongs to: its nearest ancestor (or itself) holding `.git`, as git
 * finds it, else the directory itself.
 */
export function workTreeRoot(dir: string): string {
  for (let d = dir; ; d = path.dirname(d)) {
    if (fs.existsSync(path.join(d, '.git'))) return d;
    if (path.dirname(d) === d) return dir;
  }
}

/**
 * The repository a work tree's `.git` entry leads to: the directory itself, or where a linked
 * worktree's (or a submodule's) `gitdir:` file points; undefined when that cannot be read.
 */
export function gitDirOf(entry: string): string | undefined {
  try {
    if (fs.statSync(entry).isDirectory()) return entry;
    const target = /^gitdir:\s*(.+)$/m.exec(fs.readFileSync(entry, 'utf8'))?.[1]?.trim();
    return target === undefined ? undefined : path.resolve(path.dirname(entry), target);
  } catch {
    return undefined;
  }
}

/** The git dir of the work tree `dir` is in (a linked worktree's own), undefined outside one. */
export function workTreeGitDir(dir: string): string | undefined {
  return gitDirOf(path.join(workTreeRoot(dir), '.git'));
}

/**
 * Whether git might refuse the worktree's repository as another user's (safe.directory): its top
 * or its `.git` is owned by someone else. Only then is git asked before the launch (a spawn).
 */
export function mayBeAnotherUsersRepository(worktree: string): boolean {
  const uid = process.geteuid?.();
  if (uid === undefined) return true;
  const top = workTreeRoot(worktree);
  for (const p of [top, path.join(top, '.git')]) {
    try {
      if (fs.statSync(p).uid !== uid) return true;
    } catch {
      // gone since: git will say so
    }
  }
  return false;
}

/**
 * A worktree in a repository git cannot use is refused before anything runs: the agent's git could
 * neither read nor commit there, and the watcher, finding no repository, would take the worktree
 * for a plain directory. Another user's repository that safe.directory does not list (a
 * bind-mounted checkout) gets its own reason; anything else git fails on (a broken config file, a
 * linked worktree whose admin directory was pruned, a damaged repository) is named in git's words.
 * No repository at all, or no git installed, is a plain directory, as before: undefined.
 */
export function gitRefusal(worktree: string, r: GitResult): DxError | undefined {
  if (r.code === 0 || r.code === GIT_NOT_RUNNABLE || NO_REPOSITORY.test(r.stderr)) return undefined;
  const dubious = DUBIOUS_OWNERSHIP.exec(r.stderr);
  if (dubious) {
    const repository = dubious[1] ?? dubious[2] ?? worktree;
    let owner = 'another user';
    try {
      owner = `uid ${fs.statSync(repository).uid}`;
    } catch {
      // the path git named is what the message needs; its owner is a detail
    }
    const uid = typeof process.getuid === 'function' ? ` (dx-runner runs as uid ${process.getuid()})` : '';
    return denied(
      `git refuses the repository at ${repository}: it is owned by ${owner}${uid} and not listed in git's safe.directory, so the agent's git could neither read nor commit there; if you trust it: git config --global --add safe.directory ${repository}`,
      'worktree_not_trusted_by_git',
      'add_the_repository_to_git_safe_directory',
      { worktree, repository },
    );
  }
  const said = r.stderr.split('\n').find((line) => line.startsWith('fatal:')) ?? r.stderr.trim().split('\n')[0];
  return denied(
    `git cannot use the repository of the worktree ${worktree} (${said || `git exited ${r.code}`}): the agent's git could not work there either; fix the repository or git's configuration first`,
    'worktree_git_unusable',
    'fix_the_worktree_repository',
    { worktree, git: said },
  );
}

/** gitRefusal of the worktree, asked of git (`rev-parse`): for dry-runs, restarts and other users' repositories. */
export async function assertGitCanUseWorktree(worktree: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const refusal = gitRefusal(worktree, await git(worktree, ['rev-parse', '--git-dir'], env));
  if (refusal) throw refusal;
}
