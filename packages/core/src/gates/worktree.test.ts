import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DxError } from '../errors.js';
import { loadPolicy } from '../policy/load.js';
import type { Policy } from '../policy/schema.js';
import { checkWorktree, ensureWorktreeBase, isWithin } from './worktree.js';

let base: string;
let policy: Policy;
beforeEach(() => {
  base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-wt-')));
  fs.mkdirSync(path.join(base, 'agents', 'bd-1', 'repo'), { recursive: true });
  fs.mkdirSync(path.join(base, 'canonical', 'deep'), { recursive: true });
  fs.mkdirSync(path.join(base, 'elsewhere'), { recursive: true });
  policy = {
    ...loadPolicy({ env: {} }),
    worktrees: {
      allowedPrefixes: [path.join(base, 'agents'), path.join(base, 'canonical')],
      forbiddenRepos: [path.join(base, 'canonical')],
    },
  };
});
afterEach(() => fs.rmSync(base, { recursive: true, force: true }));

function refusal(p: string): DxError {
  try {
    checkWorktree(p, policy);
  } catch (err) {
    return err as DxError;
  }
  throw new Error(`${p} was allowed`);
}

describe('worktree-only permission gate', () => {
  it('allows a directory under an allowed prefix, resolved to its real path', () => {
    const d = checkWorktree(path.join(base, 'agents', 'bd-1', 'repo'), policy);
    expect(d.worktree).toBe(path.join(base, 'agents', 'bd-1', 'repo'));
  });

  it('respects path boundaries: agentsX is not inside agents', () => {
    expect(isWithin('/tmp/agentsX/a', '/tmp/agents')).toBe(false);
    expect(isWithin('/tmp/agents/a', '/tmp/agents')).toBe(true);
    expect(isWithin('/tmp/agents', '/tmp/agents')).toBe(true);
  });

  it('refuses a canonical repo and its descendants even when a prefix allows them', () => {
    expect(refusal(path.join(base, 'canonical')).reasonCode).toBe('canonical_worktree_forbidden');
    expect(refusal(path.join(base, 'canonical', 'deep')).reasonCode).toBe('canonical_worktree_forbidden');
  });

  it('judges symlinks and ".." by where they land', () => {
    fs.symlinkSync(path.join(base, 'elsewhere'), path.join(base, 'agents', 'link'));
    const e = refusal(path.join(base, 'agents', 'link'));
    expect(e.reasonCode).toBe('worktree_outside_allowed_prefixes');
    expect(e.message).toContain(`resolves to ${path.join(base, 'elsewhere')}`);
    expect(refusal(path.join(base, 'agents', '..', 'elsewhere')).exitCode).toBe(22);
    fs.symlinkSync(path.join(base, 'canonical', 'deep'), path.join(base, 'agents', 'into-canonical'));
    expect(refusal(path.join(base, 'agents', 'into-canonical')).reasonCode).toBe('canonical_worktree_forbidden');
  });

  it('refuses a missing path and a file', () => {
    expect(refusal(path.join(base, 'agents', 'nope')).reasonCode).toBe('worktree_missing');
    fs.writeFileSync(path.join(base, 'agents', 'file'), '');
    expect(refusal(path.join(base, 'agents', 'file')).reasonCode).toBe('worktree_not_directory');
  });
});

describe('a folder for throw-away worktrees (the demos)', () => {
  const attempt = (p: string) => {
    try {
      return ensureWorktreeBase(p, policy);
    } catch (err) {
      return err as DxError;
    }
  };

  it('is made when it lies under an allowed prefix, the prefix too on a fresh host', () => {
    fs.rmSync(path.join(base, 'agents'), { recursive: true });
    const made = path.join(base, 'agents', 'demos', 'mine');
    expect(attempt(made)).toBe(made);
    expect(fs.statSync(made).isDirectory()).toBe(true);
  });

  it('is never made outside the prefixes, nor through a symlink that leads out of them', () => {
    const outside = path.join(base, 'elsewhere', 'demos');
    expect(attempt(outside)).toMatchObject({ reasonCode: 'worktree_outside_allowed_prefixes', exitCode: 22 });
    fs.symlinkSync(path.join(base, 'elsewhere'), path.join(base, 'agents', 'link'));
    expect(attempt(path.join(base, 'agents', 'link', 'demos'))).toMatchObject({
      reasonCode: 'worktree_outside_allowed_prefixes',
    });
    fs.symlinkSync(path.join(base, 'nowhere'), path.join(base, 'agents', 'dangling'));
    expect(attempt(path.join(base, 'agents', 'dangling', 'demos'))).toMatchObject({
      reasonCode: 'worktree_missing',
    });
    expect(fs.readdirSync(path.join(base, 'elsewhere'))).toEqual([]);
    expect(fs.existsSync(path.join(base, 'nowhere'))).toBe(false);
  });
});
