import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DxError } from '../errors.js';
import { z } from 'zod';
import { loadPolicy, maxParallelFor, mergePolicy, readPolicyFile } from './load.js';
import { sectionOf, type PolicySection } from './sections.js';

const dirs: string[] = [];
function file(text: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-policy-'));
  dirs.push(dir);
  const f = path.join(dir, 'policy.yaml');
  fs.writeFileSync(f, text);
  return f;
}
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function errorOf(fn: () => unknown): DxError {
  try {
    fn();
  } catch (err) {
    return err as DxError;
  }
  throw new Error('expected an error');
}

describe('policy loader', () => {
  it('ships a default policy with the worktree section', () => {
    const p = loadPolicy({ env: { HOME: '/home/u' } });
    expect(p.worktrees.allowedPrefixes).toEqual(['/tmp/agents']);
    expect(p.worktrees.forbiddenRepos).toContain('/home/u/agent-skills');
    expect(p.defaults.maxParallel).toBe(2);
  });

  it('merges a user file over the default and adds DX_RUNNER_EXTRA_ALLOWED_PREFIXES', () => {
    const f = file('worktrees:\n  allowed_prefixes: [/srv/wt]\nproviders:\n  opencode:\n    max_parallel: 4\n');
    const p = loadPolicy({ file: f, env: { HOME: '/h', DX_RUNNER_EXTRA_ALLOWED_PREFIXES: '/x, /y' } });
    expect(p.worktrees.allowedPrefixes).toEqual(['/srv/wt', '/x', '/y']);
    expect(p.worktrees.forbiddenRepos).toContain('/h/agent-skills');
    expect(p.sources).toEqual([expect.stringContaining('default.yaml'), f]);
    expect(maxParallelFor(p, 'opencode', {})).toBe(4);
    expect(maxParallelFor(p, 'cc-glm', { DX_RUNNER_MAX_PARALLEL_CC_GLM: '3' })).toBe(3);
    // the mixed wave of two providers: 2 OpenCode + 2 Gemini jobs at once
    expect(maxParallelFor(p, 'gemini', {})).toBe(2);
    expect(maxParallelFor(p, 'extra', {})).toBe(2);
  });

  it('uses DX_POLICY_FILE, then the user config dir', () => {
    const f = file('defaults:\n  max_parallel: 7\n');
    expect(loadPolicy({ env: { DX_POLICY_FILE: f } }).defaults.maxParallel).toBe(7);
    const home = path.dirname(f);
    fs.mkdirSync(path.join(home, '.config', 'dx-runner'), { recursive: true });
    fs.writeFileSync(path.join(home, '.config', 'dx-runner', 'policy.yaml'), 'defaults:\n  max_parallel: 9\n');
    expect(loadPolicy({ env: { HOME: home } }).defaults.maxParallel).toBe(9);
  });

  it('names file, line and column of syntax errors, unknown keys and wrong types', () => {
    const a = file('worktrees:\n  allowed_prefixes: [/a\n');
    expect(errorOf(() => readPolicyFile(a)).message).toMatch(new RegExp(`^invalid policy ${a}:\\d+:\\d+: `));
    const b = file('version: 1\nproviders:\n  opencode:\n    max_paralel: 2\n');
    expect(errorOf(() => readPolicyFile(b)).message).toBe(
      `invalid policy ${b}:4:5: providers.opencode.max_paralel: Unrecognized key: "max_paralel"`,
    );
    const c = file('worktrees:\n  allowed_prefixes:\n    - /ok\n    - 42\n');
    const err = errorOf(() => readPolicyFile(c));
    expect(err.message).toMatch(new RegExp(`${c}:4:7: worktrees.allowed_prefixes\\[1\\]: `));
    expect(err.reasonCode).toBe('policy_invalid');
    expect(err.exitCode).toBe(1);
  });

  it('a file read again in the same process (in-process starts) follows its edits, and changes made by one caller do not reach the next', () => {
    const f = file('worktrees:\n  allowed_prefixes: [/srv/wt]\nproviders:\n  opencode:\n    max_parallel: 4\n');
    const first = loadPolicy({ file: f, env: {} });
    expect(maxParallelFor(first, 'opencode')).toBe(4);
    first.worktrees.allowedPrefixes.push('/changed/by/a/caller');
    const again = loadPolicy({ file: f, env: {} });
    expect(again.worktrees.allowedPrefixes).toEqual(['/srv/wt']);
    fs.writeFileSync(f, 'providers:\n  opencode:\n    max_parallel: 7\n');
    expect(maxParallelFor(loadPolicy({ file: f, env: {} }), 'opencode')).toBe(7);
    fs.writeFileSync(f, 'providers:\n  opencode:\n    max_parallel: seven\n');
    expect(errorOf(() => loadPolicy({ file: f, env: {} })).message).toMatch(/policy\.yaml:3:\d+/);
    fs.writeFileSync(f, 'providers:\n  opencode:\n    max_parallel: 4\n');
    expect(maxParallelFor(loadPolicy({ file: f, env: {} }), 'opencode')).toBe(4);
  });

  it('merges maps key by key and replaces lists', () => {
    expect(mergePolicy({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] } })).toEqual({ a: { b: 1, c: [3] }, d: 1 });
  });
});

describe('sections owned by other tools', () => {
  const TEST_SECTION: PolicySection<{ size: number }> = {
    key: 'batch',
    schema: z.object({ size: z.number().int().optional() }).strict(),
    defaults: { size: 3 },
    resolve: (raw) => ({ size: (raw.size as number | undefined) ?? 3 }),
  };

  it('dx-runner keeps a section it does not own as it is; its owner validates it with file:line:column', () => {
    const f = file('worktrees:\n  allowed_prefixes: [/srv/wt]\nbatch:\n  sise: 4\n');
    expect(() => loadPolicy({ file: f, env: { HOME: '/h' } })).not.toThrow();
    const err = errorOf(() => loadPolicy({ file: f, env: { HOME: '/h' }, sections: [TEST_SECTION] }));
    expect(err.message).toMatch(new RegExp(`^invalid policy ${f}:4:3: batch\\.sise: Unrecognized key`));
  });

  it('the owner gets its defaults under the user file, resolved once', () => {
    expect(sectionOf(loadPolicy({ env: { HOME: '/h' }, sections: [TEST_SECTION] }), TEST_SECTION)).toEqual({ size: 3 });
    const f = file('batch:\n  size: 9\n');
    expect(sectionOf(loadPolicy({ file: f, env: { HOME: '/h' }, sections: [TEST_SECTION] }), TEST_SECTION)).toEqual({
      size: 9,
    });
    expect(() => sectionOf(loadPolicy({ env: { HOME: '/h' } }), TEST_SECTION)).toThrow(/without the batch section/);
  });

  it('a misspelt top-level section is refused by every tool', () => {
    const err = errorOf(() => loadPolicy({ file: file('bacth:\n  size: 1\n'), env: { HOME: '/h' } }));
    expect(err.message).toMatch(/:1:1: bacth: Unrecognized key/);
  });
});
