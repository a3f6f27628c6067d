import fs from 'node:fs';
import path from 'node:path';
import { gitDirOf, workTreeRoot } from '../../gates/worktree.js';
import { git, type GitResult } from '../../process/git.js';
import { isToolArtifact } from '../artifacts.js';

/** The least time between two worktree checks. */
export const MUTATION_DEBOUNCE_MS = 1000;
/**
 * A worktree check takes at most a fifth of the time: in a monorepo whose `git status` takes
 * seconds, a check after every tool call kept a core busy all night.
 */
const POLL_DUTY_FACTOR = 5;

/** Nor more than this apart on that account: one cold, slow status must not blind the watcher for long. */
const MAX_POLL_SPACING_MS = 5 * 60_000;

/** How long after a worktree check began the next may begin, given how long the last one took. */
export function pollSpacingMs(lastPollMs: number): number {
  return Math.min(Math.max(MUTATION_DEBOUNCE_MS, lastPollMs * POLL_DUTY_FACTOR), MAX_POLL_SPACING_MS);
}

/**
 * What the agent changed in its worktree since launch: files whose status or content differs from
 * the baseline taken before the agent started (pre-existing dirt does not count), plus everything
 * in commits made since. `--no-optional-locks` keeps our polling from taking index.lock while the
 * agent runs git itself.
 */
export interface MutationSnapshot {
  mutations: number;
  changedFiles: string[];
  /**
   * How many of them are files the job created and left untracked (no commit, not in git's index):
   * a test run's report or cache in a repository that does not ignore it, not an edit of the work
   * there was. Always 0 outside git.
   */
  newUntrackedFiles: number;
  /**
   * How many polls found the worktree other than the poll before (a file written again, a commit):
   * moves with every change, where `mutations` counts changed files and stays put when one of them
   * is edited again.
   */
  changes: number;
  commits: string[];
  startHead?: string;
  head?: string;
  /**
   * What was not there at this poll: the worktree (removed under the job), or the git repository
   * it was a checkout of (its `.git` removed, or a linked worktree's repository gone). What it
   * holds is unknown then, and the counts are the last ones known.
   */
  lost?: WorktreeLoss | 'git_status_timed_out';
}

/** The reason code of a worktree that can no longer be read. */
export type WorktreeLoss = 'worktree_gone' | 'git_repository_gone' | 'worktree_replaced';

/** Which directory this is (device and inode): another one made at the same path is not it. */
function identityOf(dir: string | undefined): string | undefined {
  if (!dir) return undefined;
  try {
    const st = fs.statSync(dir);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** The repository a `.git` entry is: the directory itself, or the one a linked worktree's file names. */
function repositoryIdentity(entry: string): string | undefined {
  return identityOf(gitDirOf(entry) ?? entry);
}

/**
 * The entry is still there, and a `gitdir:` file still points at a repository (one that cannot be
 * read is not gone: git says what it can at the next poll).
 */
function gitEntryPresent(entry: string): boolean {
  if (!fs.existsSync(entry)) return false;
  const repository = gitDirOf(entry);
  return repository === undefined || fs.existsSync(repository);
}

function fingerprint(file: string): string {
  try {
    const st = fs.lstatSync(file);
    return `${st.size}:${Math.floor(st.mtimeMs)}:${st.mode}`;
  } catch {
    return 'missing';
  }
}

const WALK_LIMIT = 20_000;
const WALK_SKIP = new Set(['.git', 'node_modules']);

function walk(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const stack = [''];
  while (stack.length > 0 && out.size < WALK_LIMIT) {
    const rel = stack.pop()!;
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (WALK_SKIP.has(e.name)) continue;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) stack.push(child);
      else out.set(child, fingerprint(path.join(root, child)));
    }
  }
  return out;
}

/** One `git status` answer: HEAD's commit and the status of every changed path. */
interface GitState {
  head: string | undefined;
  status: Map<string, string>;
}

export class MutationTracker {
  private isGit = false;
  private gitEntry: string | undefined;
  /** The worktree directory and its repository as the baseline found them (device and inode). */
  private worktreeId: string | undefined;
  private repositoryId: string | undefined;
  /** Where git's paths start: the work tree's top, above the worktree of a job begun in a subdirectory. */
  private readonly gitRoot: string;
  private startHead: string | undefined;
  private baselineStatus = new Map<string, string>();
  private baselineWalk = new Map<string, string>();
  private last: MutationSnapshot = { mutations: 0, changedFiles: [], newUntrackedFiles: 0, changes: 0, commits: [] };
  /** What the last poll saw (HEAD and every changed path's status), to tell whether the next differs. */
  private lastSeen = '';

  /** `gitTimeoutMs`: how long one git call may take (a clean filter or fsmonitor hook can hang it). */
  constructor(
    private readonly worktree: string,
    private readonly gitTimeoutMs?: number,
  ) {
    this.gitRoot = workTreeRoot(worktree);
  }

  private git(args: string[]): Promise<GitResult> {
    return git(this.worktree, args, process.env, { timeoutMs: this.gitTimeoutMs });
  }

  async baseline(): Promise<void> {
    this.worktreeId = identityOf(this.worktree);
    // one git process: this sits on the path to start's acknowledgement
    const state = await this.gitState();
    if (state === 'timed_out')
      throw new Error(
        `git status in ${this.worktree} did not answer within ${this.gitTimeoutMs} ms (DX_RUNNER_GIT_TIMEOUT_SEC): a clean filter (git-lfs, git-crypt) or fsmonitor hook that hangs?`,
      );
    this.isGit = state !== undefined;
    if (state) {
      // the nearest `.git` at or above the worktree (a directory, or a linked worktree's `gitdir:` file)
      const entry = path.join(this.gitRoot, '.git');
      this.gitEntry = fs.existsSync(entry) ? entry : undefined;
      this.repositoryId = this.gitEntry && repositoryIdentity(this.gitEntry);
      this.startHead = state.head;
      this.baselineStatus = state.status;
    } else {
      this.baselineWalk = walk(this.worktree);
    }
    this.lastSeen = `${this.startHead ?? ''}\0`;
    this.last = {
      mutations: 0,
      changedFiles: [],
      newUntrackedFiles: 0,
      changes: 0,
      commits: [],
      startHead: this.startHead,
      head: this.startHead,
    };
  }

  get snapshot(): MutationSnapshot {
    return this.last;
  }

  /**
   * HEAD and the worktree's status from one `git status` (porcelain v2 with its branch header),
   * undefined outside a work tree. `--no-ahead-behind`: the count against an upstream can walk a
   * long history and is not wanted here.
   */
  private async gitState(): Promise<GitState | 'timed_out' | undefined> {
    const r = await this.git([
      'status',
      '--porcelain=v2',
      '--branch',
      '--no-ahead-behind',
      '-z',
      '--untracked-files=all',
    ]);
    if (r.timedOut) return 'timed_out';
    if (r.code !== 0) return undefined;
    let head: string | undefined;
    const status = new Map<string, string>();
    const parts = r.stdout.split('\0');
    for (let i = 0; i < parts.length; i++) {
      const entry = parts[i];
      if (entry.startsWith('# branch.oid ')) {
        const oid = entry.slice('# branch.oid '.length);
        head = oid === '(initial)' ? undefined : oid;
        continue;
      }
      // ordinary "1", renamed or copied "2" (its original path follows), unmerged "u", untracked "?"
      const kind = entry[0];
      const fields = kind === '1' ? 9 : kind === '2' ? 10 : kind === 'u' ? 11 : kind === '?' ? 2 : 0;
      if (fields === 0) continue;
      const split = splitFields(entry, fields);
      if (!split) continue;
      const xy = kind === '?' ? '??' : split[1];
      const file = split[fields - 1];
      status.set(file, `${xy}|${fingerprint(path.join(this.gitRoot, file))}`);
      if (kind === '2') {
        // a rename also removed its original path (a copy leaves it as it was)
        const original = parts[++i];
        if (original && xy.includes('R')) status.set(original, `${xy}|renamed to ${file}`);
      }
    }
    return { head, status };
  }

  /** What of the worktree can no longer be read now, if anything. */
  loss(): WorktreeLoss | undefined {
    if (!fs.existsSync(this.worktree)) return 'worktree_gone';
    if (this.isGit && this.gitEntry && !gitEntryPresent(this.gitEntry)) return 'git_repository_gone';
    // removed and made again at the same path (a clean-up script's fresh clone): what is there now
    // is not what the baseline was taken of. A git worktree counts as replaced when its repository
    // is another one too (both inodes new), not on the worktree directory's alone
    if (identityOf(this.worktree) === this.worktreeId) return undefined;
    if (this.isGit && this.gitEntry && this.repositoryId && repositoryIdentity(this.gitEntry) === this.repositoryId)
      return undefined;
    return 'worktree_replaced';
  }

  async poll(): Promise<MutationSnapshot> {
    // a git status in a removed directory fails, and a walk of one finds every file deleted; without
    // its .git, git would answer from a repository further up, or not at all: none of these may read
    // as "changed nothing" or as work done
    const lost = this.loss();
    if (lost) {
      this.last = { ...this.last, lost };
      return this.last;
    }
    const changed = new Set<string>();
    /** The status or fingerprint of each changed path, as this poll found it. */
    const fingerprints = new Map<string, string>();
    let newUntrackedFiles = 0;
    let commits: string[] = [];
    let head: string | undefined;
    if (this.isGit) {
      const current = await this.gitState();
      // git did not answer in time: what the worktree holds now is unknown (kept out of `last`,
      // so a later poll that answers is compared with the last known state)
      if (current === 'timed_out') return { ...this.last, lost: 'git_status_timed_out' };
      // git could not answer this time (a broken index mid-rewrite): nothing new is known
      if (!current) return this.last;
      // an untracked tool leftover (byte-code, a test cache) made, rewritten or removed is no work
      const leftover = (file: string, fp: string | undefined) => fp?.startsWith('??|') === true && isToolArtifact(file);
      for (const [file, fp] of current.status) {
        if (this.baselineStatus.get(file) === fp || leftover(file, fp)) continue;
        changed.add(file);
        fingerprints.set(file, fp);
        if (fp.startsWith('??|') && !this.baselineStatus.has(file)) newUntrackedFiles++;
      }
      for (const [file, fp] of this.baselineStatus)
        if (!current.status.has(file) && !leftover(file, fp)) changed.add(file);
      head = current.head;
      if (head && head !== this.startHead) {
        const range = this.startHead ? [`${this.startHead}..${head}`] : [head];
        const revs = await this.git(['rev-list', '--reverse', ...range]);
        commits = revs.stdout.split('\n').filter(Boolean);
        const files = this.startHead
          ? await this.git(['diff', '--name-only', '--no-renames', '-z', this.startHead, head])
          : await this.git(['ls-tree', '-r', '-z', '--name-only', head]);
        for (const f of files.stdout.split('\0')) if (f) changed.add(f);
      }
    } else {
      const current = walk(this.worktree);
      for (const [file, fp] of current)
        if (this.baselineWalk.get(file) !== fp && !isToolArtifact(file)) {
          changed.add(file);
          fingerprints.set(file, fp);
        }
      for (const file of this.baselineWalk.keys()) if (!current.has(file) && !isToolArtifact(file)) changed.add(file);
    }
    const headMoved = this.isGit && head !== this.startHead;
    const changedFiles = [...changed].sort();
    const seen = `${head ?? ''}\0${changedFiles.map((f) => `${f}\0${fingerprints.get(f) ?? ''}`).join('\0')}`;
    const changes = seen === this.lastSeen ? this.last.changes : this.last.changes + 1;
    this.lastSeen = seen;
    this.last = {
      mutations: changedFiles.length > 0 ? changedFiles.length : headMoved ? 1 : 0,
      changedFiles,
      newUntrackedFiles,
      changes,
      commits,
      startHead: this.startHead,
      head,
    };
    return this.last;
  }
}

/** The first `count` space-separated fields of a status line; the last one keeps its spaces (a path). */
function splitFields(entry: string, count: number): string[] | undefined {
  const out: string[] = [];
  let from = 0;
  for (let n = 1; n < count; n++) {
    const space = entry.indexOf(' ', from);
    if (space < 0) return undefined;
    out.push(entry.slice(from, space));
    from = space + 1;
  }
  out.push(entry.slice(from));
  return out;
}
