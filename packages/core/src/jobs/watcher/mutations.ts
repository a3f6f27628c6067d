import fs from 'node:fs';
import path from 'node:path';
import { git } from '../../process/git.js';

/**
 * What the agent changed in its worktree since launch: files whose status or content differs from
 * the baseline taken before the agent started (pre-existing dirt does not count), plus everything
 * in commits made since. `--no-optional-locks` keeps our polling from taking index.lock while the
 * agent runs git itself.
 */
export interface MutationSnapshot {
  mutations: number;
  changedFiles: string[];
  commits: string[];
  startHead?: string;
  head?: string;
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

export class MutationTracker {
  private isGit = false;
  private startHead: string | undefined;
  private baselineStatus = new Map<string, string>();
  private baselineWalk = new Map<string, string>();
  private last: MutationSnapshot = { mutations: 0, changedFiles: [], commits: [] };

  constructor(private readonly worktree: string) {}

  async baseline(): Promise<void> {
    // run together: this sits on the path to start's acknowledgement
    const [inside, head, status] = await Promise.all([
      git(this.worktree, ['rev-parse', '--is-inside-work-tree']),
      this.head(),
      this.status(),
    ]);
    this.isGit = inside.code === 0 && inside.stdout.trim() === 'true';
    if (this.isGit) {
      this.startHead = head;
      this.baselineStatus = status;
    } else {
      this.baselineWalk = walk(this.worktree);
    }
    this.last = { mutations: 0, changedFiles: [], commits: [], startHead: this.startHead, head: this.startHead };
  }

  get snapshot(): MutationSnapshot {
    return this.last;
  }

  private async head(): Promise<string | undefined> {
    const r = await git(this.worktree, ['rev-parse', '-q', '--verify', 'HEAD^{commit}']);
    return r.code === 0 ? r.stdout.trim() : undefined;
  }

  private async status(): Promise<Map<string, string>> {
    const r = await git(this.worktree, ['status', '--porcelain=v1', '-z', '--untracked-files=all']);
    const map = new Map<string, string>();
    if (r.code !== 0) return map;
    const parts = r.stdout.split('\0');
    for (let i = 0; i < parts.length; i++) {
      const entry = parts[i];
      if (entry.length < 4) continue;
      const xy = entry.slice(0, 2);
      const file = entry.slice(3);
      map.set(file, `${xy}|${fingerprint(path.join(this.worktree, file))}`);
      if (xy[0] === 'R' || xy[0] === 'C') i++;
    }
    return map;
  }

  async poll(): Promise<MutationSnapshot> {
    const changed = new Set<string>();
    let commits: string[] = [];
    let head: string | undefined;
    if (this.isGit) {
      const current = await this.status();
      for (const [file, fp] of current) if (this.baselineStatus.get(file) !== fp) changed.add(file);
      for (const file of this.baselineStatus.keys()) if (!current.has(file)) changed.add(file);
      head = await this.head();
      if (head && head !== this.startHead) {
        const range = this.startHead ? [`${this.startHead}..${head}`] : [head];
        const revs = await git(this.worktree, ['rev-list', '--reverse', ...range]);
        commits = revs.stdout.split('\n').filter(Boolean);
        const files = this.startHead
          ? await git(this.worktree, ['diff', '--name-only', '-z', this.startHead, head])
          : await git(this.worktree, ['ls-tree', '-r', '-z', '--name-only', head]);
        for (const f of files.stdout.split('\0')) if (f) changed.add(f);
      }
    } else {
      const current = walk(this.worktree);
      for (const [file, fp] of current) if (this.baselineWalk.get(file) !== fp) changed.add(file);
      for (const file of this.baselineWalk.keys()) if (!current.has(file)) changed.add(file);
    }
    const headMoved = this.isGit && head !== this.startHead;
    const changedFiles = [...changed].sort();
    this.last = {
      mutations: changedFiles.length > 0 ? changedFiles.length : headMoved ? 1 : 0,
      changedFiles,
      commits,
      startHead: this.startHead,
      head,
    };
    return this.last;
  }
}
