import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MUTATION_DEBOUNCE_MS, MutationTracker, pollSpacingMs } from './mutations.js';

let wt: string;
const git = (...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: wt, encoding: 'utf8' }).trim();
beforeEach(() => {
  wt = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-mut-'));
  git('init', '-q');
  fs.writeFileSync(path.join(wt, 'a.txt'), 'a\n');
  git('add', '-A');
  git('commit', '-qm', 'init');
});
afterEach(() => fs.rmSync(wt, { recursive: true, force: true }));

describe('MutationTracker', () => {
  it('counts only changes made after the baseline, including commits', async () => {
    fs.writeFileSync(path.join(wt, 'dirty-before.txt'), 'x\n');
    const t = new MutationTracker(wt);
    await t.baseline();
    expect((await t.poll()).mutations).toBe(0);
    fs.writeFileSync(path.join(wt, 'new.txt'), 'n\n');
    fs.appendFileSync(path.join(wt, 'a.txt'), 'more\n');
    expect((await t.poll()).changedFiles).toEqual(['a.txt', 'new.txt']);
    git('add', 'new.txt', 'a.txt');
    git('commit', '-qm', 'work');
    const snap = await t.poll();
    expect(snap.changedFiles).toEqual(['a.txt', 'new.txt']);
    expect(snap.commits).toEqual([git('rev-parse', 'HEAD')]);
    expect(snap.mutations).toBe(2);
  });

  it('sees a pre-existing dirty file changed again', async () => {
    fs.writeFileSync(path.join(wt, 'a.txt'), 'dirty\n');
    const t = new MutationTracker(wt);
    await t.baseline();
    expect((await t.poll()).mutations).toBe(0);
    fs.writeFileSync(path.join(wt, 'a.txt'), 'dirty and longer\n');
    expect((await t.poll()).changedFiles).toEqual(['a.txt']);
  });

  it('sees a pre-existing dirty file changed again by a job started in a subdirectory', async () => {
    const sub = path.join(wt, 'packages', 'a');
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, 'x.ts'), 'x\n');
    git('add', '-A');
    git('commit', '-qm', 'package');
    fs.writeFileSync(path.join(sub, 'x.ts'), 'dirty\n');
    const t = new MutationTracker(sub);
    await t.baseline();
    expect((await t.poll()).mutations).toBe(0);
    fs.writeFileSync(path.join(sub, 'x.ts'), 'dirty and longer\n');
    expect((await t.poll()).changedFiles).toEqual(['packages/a/x.ts']);
  });

  it('counts the files the job created and left untracked apart from its edits', async () => {
    fs.writeFileSync(path.join(wt, 'left-by-implementer.txt'), 'draft\n');
    const t = new MutationTracker(wt);
    await t.baseline();
    fs.mkdirSync(path.join(wt, 'coverage'));
    fs.writeFileSync(path.join(wt, 'coverage', 'lcov.info'), 'TN:\n');
    expect(await t.poll()).toMatchObject({ mutations: 1, newUntrackedFiles: 1 });
    // an untracked file that was there before, edited, is an edit of the work
    fs.writeFileSync(path.join(wt, 'left-by-implementer.txt'), 'draft, edited\n');
    fs.appendFileSync(path.join(wt, 'a.txt'), 'tracked edit\n');
    expect(await t.poll()).toMatchObject({ mutations: 3, newUntrackedFiles: 1 });
  });

  it('counts every poll that finds the worktree moved, a file edited again included', async () => {
    const t = new MutationTracker(wt);
    await t.baseline();
    expect((await t.poll()).changes).toBe(0);
    fs.appendFileSync(path.join(wt, 'a.txt'), 'one\n');
    expect(await t.poll()).toMatchObject({ mutations: 1, changes: 1 });
    expect((await t.poll()).changes).toBe(1);
    // the same file again: still one changed file, but the worktree moved
    fs.appendFileSync(path.join(wt, 'a.txt'), 'two, longer\n');
    expect(await t.poll()).toMatchObject({ mutations: 1, changes: 2 });
    git('commit', '-qam', 'work');
    expect(await t.poll()).toMatchObject({ mutations: 1, changes: 3 });
  });

  it('does not count the byte-code and caches running the tests leaves behind, untracked, as work', async () => {
    // a repository that ignores none of them, tests already run once before the job
    fs.mkdirSync(path.join(wt, 'tests', '__pycache__'), { recursive: true });
    fs.writeFileSync(path.join(wt, 'tests', '__pycache__', 'test_a.cpython-311.pyc'), 'old');
    const t = new MutationTracker(wt);
    await t.baseline();
    fs.writeFileSync(path.join(wt, 'tests', '__pycache__', 'test_a.cpython-311.pyc'), 'rewritten');
    fs.writeFileSync(path.join(wt, 'tests', '__pycache__', 'conftest.cpython-311.pyc'), 'new');
    fs.mkdirSync(path.join(wt, '.pytest_cache', 'v'), { recursive: true });
    fs.writeFileSync(path.join(wt, '.pytest_cache', 'v', 'lastfailed'), '{}');
    fs.writeFileSync(path.join(wt, '.coverage'), 'data');
    expect(await t.poll()).toMatchObject({ mutations: 0, changedFiles: [], newUntrackedFiles: 0 });
    // a tracked one is the repository's, whatever its name; a source file beside them is work
    fs.writeFileSync(path.join(wt, 'tests', 'test_b.py'), 'def test_b(): pass\n');
    expect((await t.poll()).changedFiles).toEqual(['tests/test_b.py']);
    git('add', '-f', '.coverage');
    git('commit', '-qm', 'coverage data committed');
    expect((await t.poll()).changedFiles).toEqual(['.coverage', 'tests/test_b.py']);
  });

  it('names both paths of a renamed file (staged with git mv, then committed) and files with spaces', async () => {
    fs.writeFileSync(path.join(wt, 'old name.txt'), 'o\n');
    git('add', '-A');
    git('commit', '-qm', 'two');
    const t = new MutationTracker(wt);
    await t.baseline();
    git('mv', 'old name.txt', 'new name.txt');
    fs.writeFileSync(path.join(wt, 'sub dir.txt'), 's\n');
    expect((await t.poll()).changedFiles).toEqual(['new name.txt', 'old name.txt', 'sub dir.txt']);
    git('commit', '-qm', 'renamed');
    expect((await t.poll()).changedFiles).toEqual(['new name.txt', 'old name.txt', 'sub dir.txt']);
  });

  it('does not count a rename that was already staged before the job as a change', async () => {
    fs.writeFileSync(path.join(wt, 'before.txt'), 'b\n');
    git('add', '-A');
    git('commit', '-qm', 'three');
    git('mv', 'before.txt', 'after.txt');
    const t = new MutationTracker(wt);
    await t.baseline();
    expect((await t.poll()).changedFiles).toEqual([]);
  });

  it('tracks a repository with no commit yet, then its first commit', async () => {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-fresh-'));
    try {
      execFileSync('git', ['init', '-q'], { cwd: fresh });
      const t = new MutationTracker(fresh);
      await t.baseline();
      expect(t.snapshot.startHead).toBeUndefined();
      fs.writeFileSync(path.join(fresh, 'first.txt'), 'f\n');
      expect((await t.poll()).changedFiles).toEqual(['first.txt']);
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'add', '-A'], { cwd: fresh });
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'first'], { cwd: fresh });
      const snap = await t.poll();
      expect(snap.head).toMatch(/^[0-9a-f]{40}$/);
      expect(snap.commits).toEqual([snap.head]);
      expect(snap.changedFiles).toEqual(['first.txt']);
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
  });

  it('keeps its last answer when git cannot read the worktree for a moment', async () => {
    const t = new MutationTracker(wt);
    await t.baseline();
    fs.writeFileSync(path.join(wt, 'new.txt'), 'n\n');
    expect((await t.poll()).changedFiles).toEqual(['new.txt']);
    const index = path.join(wt, '.git', 'index');
    fs.renameSync(index, `${index}.away`);
    fs.writeFileSync(index, 'not an index');
    expect((await t.poll()).changedFiles).toEqual(['new.txt']);
    fs.renameSync(`${index}.away`, index);
    fs.writeFileSync(path.join(wt, 'later.txt'), 'l\n');
    expect((await t.poll()).changedFiles).toEqual(['later.txt', 'new.txt']);
  });

  it('works in a directory that is not a git repository', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-plain-'));
    try {
      const t = new MutationTracker(plain);
      await t.baseline();
      fs.mkdirSync(path.join(plain, 'd'));
      fs.writeFileSync(path.join(plain, 'd', 'f'), 'x');
      expect((await t.poll()).changedFiles).toEqual(['d/f']);
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
  });

  it("says when the worktree's repository was removed, instead of asking a repository further up", async () => {
    // the worktree sits inside another repository: without its own .git, git would answer from that one
    const outer = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-outer-'));
    try {
      execFileSync('git', ['init', '-q', outer]);
      const inner = path.join(outer, 'inner');
      fs.renameSync(wt, inner);
      wt = inner;
      const t = new MutationTracker(wt);
      await t.baseline();
      fs.writeFileSync(path.join(wt, 'work.txt'), 'w');
      expect((await t.poll()).changedFiles).toEqual(['work.txt']);
      fs.rmSync(path.join(wt, '.git'), { recursive: true, force: true });
      expect(t.loss()).toBe('git_repository_gone');
      expect(await t.poll()).toMatchObject({ changedFiles: ['work.txt'], lost: 'git_repository_gone' });
    } finally {
      fs.rmSync(outer, { recursive: true, force: true });
    }
  });

  it("says when a linked worktree's repository is gone (its gitdir file points nowhere)", async () => {
    const linked = `${wt}-linked`;
    try {
      git('worktree', 'add', '-q', linked);
      const t = new MutationTracker(linked);
      await t.baseline();
      expect(t.loss()).toBeUndefined();
      fs.rmSync(path.join(wt, '.git'), { recursive: true, force: true });
      expect(t.loss()).toBe('git_repository_gone');
    } finally {
      fs.rmSync(linked, { recursive: true, force: true });
    }
  });

  it('says when the worktree was removed under it, git or not, instead of reading it as unchanged or emptied', async () => {
    const plain = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-plain-'));
    try {
      fs.writeFileSync(path.join(plain, 'kept.txt'), 'x');
      for (const dir of [wt, plain]) {
        const t = new MutationTracker(dir);
        await t.baseline();
        fs.writeFileSync(path.join(dir, 'work.txt'), 'w');
        const before = await t.poll();
        expect(before.changedFiles).toEqual(['work.txt']);
        expect(before.lost).toBeUndefined();
        fs.rmSync(dir, { recursive: true, force: true });
        // the last counts known stay; a plain directory's walk would have found every file deleted
        expect(await t.poll()).toMatchObject({ mutations: 1, changedFiles: ['work.txt'], lost: 'worktree_gone' });
      }
    } finally {
      fs.rmSync(plain, { recursive: true, force: true });
    }
  });
});

describe('pollSpacingMs', () => {
  it('keeps the worktree checks to a fifth of the time when git status is slow (a monorepo)', () => {
    // a quick status: a check at most once a second, after each tool call
    expect(pollSpacingMs(30)).toBe(MUTATION_DEBOUNCE_MS);
    // a 2 s status: not back to back after every tool call, but 10 s apart
    expect(pollSpacingMs(2000)).toBe(10_000);
    // one that ran into its time bound (a hung filter) does not hold the next off for 25 minutes
    expect(pollSpacingMs(300_000)).toBe(300_000);
  });
});
