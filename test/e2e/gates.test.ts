import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  BaselineGateOutputSchema,
  CheckOutputSchema,
  ErrorOutputSchema,
  EvidenceGateOutputSchema,
  FeatureKeyGateOutputSchema,
  IntegrityGateOutputSchema,
  ItemWorktreeGateOutputSchema,
  ScopeGateOutputSchema,
  WaitOutputSchema,
} from '@dx/core';
import { createSandbox, git, waitFor, WITHOUT_DAC_OVERRIDE, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

function commit(repo: string, file: string, message: string): string {
  fs.mkdirSync(path.dirname(path.join(repo, file)), { recursive: true });
  fs.appendFileSync(path.join(repo, file), `${message}\n`);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', message);
  return git(repo, 'rev-parse', 'HEAD');
}

/** main: init → a → b; branch side (from a): d. HEAD on main. */
function historyRepo(name: string) {
  const repo = sb.worktree(name);
  const init = git(repo, 'rev-parse', 'HEAD');
  const a = commit(repo, 'a.txt', 'a');
  const b = commit(repo, 'b.txt', 'b');
  git(repo, 'checkout', '-q', '-b', 'side', a);
  const d = commit(repo, 'd.txt', 'd');
  git(repo, 'checkout', '-q', 'main');
  return { repo, init, a, b, d };
}

async function runJob(beads: string, steps: unknown[], extra: string[] = []) {
  const r = await sb.startFake(beads, steps, extra);
  expect(r.code, r.stderr).toBe(0);
  await waitFor(
    async () => (await sb.dxJson(['check', '--beads', beads], CheckOutputSchema)).json.outcome_state !== null,
    `${beads} to end`,
  );
  return r.worktree;
}

describe('worktree-gate', () => {
  it("finds the item's one worktree under the base and checks it against this machine's policy", async () => {
    const wt = fs.realpathSync(sb.worktree('bd-wg'));
    const found = await sb.dxJson(
      ['worktree-gate', '--beads', 'bd-wg', '--base', sb.agents],
      ItemWorktreeGateOutputSchema,
    );
    expect(found.code).toBe(0);
    expect(found.json).toMatchObject({ passed: true, reason_code: 'worktree_found', worktree: wt, beads: 'bd-wg' });
    const human = await sb.dx(['worktree-gate', '--beads', 'bd-wg', '--base', sb.agents]);
    expect(human.stdout).toContain('Worktree Gate: PASSED (worktree_found)');

    const missing = await sb.dxJson(
      ['worktree-gate', '--beads', 'bd-none', '--base', sb.agents],
      ItemWorktreeGateOutputSchema,
    );
    expect(missing.code).toBe(1);
    expect(missing.json).toMatchObject({ passed: false, reason_code: 'worktree_missing', worktree: null });
    expect(missing.json.details).toContain('dx-worktree create bd-none');

    git(path.join(sb.agents, 'bd-wg'), 'init', '-q', 'second');
    const two = await sb.dxJson(
      ['worktree-gate', '--beads', 'bd-wg', '--base', sb.agents],
      ItemWorktreeGateOutputSchema,
    );
    expect(two.code).toBe(1);
    expect(two.json).toMatchObject({ reason_code: 'worktree_ambiguous', next_action: 'keep_one_worktree_per_item' });

    const elsewhere = path.join(sb.dir, 'elsewhere');
    fs.mkdirSync(path.join(elsewhere, 'bd-out', 'repo'), { recursive: true });
    git(path.join(elsewhere, 'bd-out', 'repo'), 'init', '-q');
    const outside = await sb.dxJson(
      ['worktree-gate', '--beads', 'bd-out', '--base', elsewhere],
      ItemWorktreeGateOutputSchema,
    );
    expect(outside.code).toBe(1);
    expect(outside.json.reason_code).toBe('worktree_outside_allowed_prefixes');

    const bad = await sb.dx(['worktree-gate', '--beads', '../x', '--base', sb.agents]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('baseline-gate', () => {
  it('passes when HEAD contains the commit, fails on a diverged one, and names a missing one', async () => {
    const { repo, a, d } = historyRepo('bl');
    const ok = await sb.dxJson(
      ['baseline-gate', '--worktree', repo, '--required-baseline', a.slice(0, 10)],
      BaselineGateOutputSchema,
    );
    expect(ok.code).toBe(0);
    expect(ok.json).toMatchObject({
      passed: true,
      reason_code: 'baseline_ok',
      runtime: git(repo, 'rev-parse', 'HEAD'),
    });
    const diverged = await sb.dxJson(
      ['baseline-gate', '--worktree', repo, '--required-baseline', d],
      BaselineGateOutputSchema,
    );
    expect(diverged.code).toBe(1);
    expect(diverged.json).toMatchObject({
      passed: false,
      reason_code: 'baseline_not_met',
      next_action: 'rebase_the_worktree_onto_the_required_baseline',
    });
    const missing = await sb.dxJson(
      ['baseline-gate', '--worktree', repo, '--required-baseline', 'deadbeefcafe'],
      BaselineGateOutputSchema,
    );
    expect(missing.json.reason_code).toBe('required_baseline_missing');
    const human = await sb.dx(['baseline-gate', '--worktree', repo, '--required-baseline', d]);
    expect(human.stdout).toContain('Baseline Gate: FAILED (baseline_not_met)');
  });

  it('handles an empty repo, a missing repo, a plain directory, a shallow clone and a detached HEAD', async () => {
    const empty = path.join(sb.agents, 'empty');
    fs.mkdirSync(empty);
    git(empty, 'init', '-q');
    expect(
      (
        await sb.dxJson(
          ['baseline-gate', '--worktree', empty, '--required-baseline', 'abcd1234'],
          BaselineGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('runtime_commit_missing');
    const gone = await sb.dxJson(
      ['baseline-gate', '--worktree', path.join(sb.dir, 'nope'), '--required-baseline', 'abcd1234'],
      BaselineGateOutputSchema,
    );
    expect(gone).toMatchObject({ code: 1, json: { reason_code: 'worktree_missing' } });
    const plain = fs.mkdtempSync(path.join(sb.dir, 'plain-'));
    expect(
      (
        await sb.dxJson(
          ['baseline-gate', '--worktree', plain, '--required-baseline', 'abcd1234'],
          BaselineGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('not_a_git_repo');

    const { repo, a } = historyRepo('deep');
    const shallow = path.join(sb.agents, 'shallow');
    git(sb.agents, 'clone', '-q', '--depth', '1', `file://${repo}`, shallow);
    const s = await sb.dxJson(
      ['baseline-gate', '--worktree', shallow, '--required-baseline', a],
      BaselineGateOutputSchema,
    );
    expect(s.json).toMatchObject({
      reason_code: 'required_baseline_missing',
      details: expect.stringContaining('shallow clone'),
    });

    git(repo, 'checkout', '-q', '--detach', 'HEAD');
    expect(
      (await sb.dxJson(['baseline-gate', '--worktree', repo, '--required-baseline', a], BaselineGateOutputSchema)).json
        .reason_code,
    ).toBe('baseline_ok');
  });

  it('refuses a SHA that is not hex with exit 1', async () => {
    const { repo } = historyRepo('hex');
    for (const bad of ['HEAD~1', 'xyz', 'main']) {
      const r = await sb.dx(['baseline-gate', '--worktree', repo, '--required-baseline', bad, '--json']);
      expect(r.code).toBe(1);
      expect(ErrorOutputSchema.parse(JSON.parse(r.stdout)).error.reason_code).toBe('invalid_sha');
    }
  });

  it('start --required-baseline refuses to launch when the gate fails', async () => {
    const { repo, b, d } = historyRepo('bd-base');
    const prompt = sb.prompt({ steps: [{ exit: 0 }] });
    const refused = await sb.dx([
      'start',
      '--beads',
      'bd-base',
      '--provider',
      'fake',
      '--prompt-file',
      prompt,
      '--worktree',
      repo,
      '--required-baseline',
      d,
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('baseline gate failed');
    expect(refused.stderr).toContain('reason_code=baseline_not_met');
    expect(fs.existsSync(path.join(sb.state, 'fake', 'bd-base.meta'))).toBe(false);
    const ok = await sb.dx([
      'start',
      '--beads',
      'bd-base',
      '--provider',
      'fake',
      '--prompt-file',
      prompt,
      '--worktree',
      repo,
      '--required-baseline',
      b,
    ]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe('integrity-gate', () => {
  it('accepts the commit the job made and refuses unknown, foreign-branch and absent commits', async () => {
    const wt = await runJob('bd-int', [{ write: 'x.txt' }, { commit: 'feat: x\n\nFeature-Key: bd-int' }, { exit: 0 }]);
    const ok = await sb.dxJson(['integrity-gate', '--beads', 'bd-int'], IntegrityGateOutputSchema);
    expect(ok.code).toBe(0);
    expect(ok.json).toMatchObject({
      passed: true,
      reason_code: 'integrity_ok',
      reported: git(wt, 'rev-parse', 'HEAD'),
    });
    const unknown = await sb.dxJson(
      ['integrity-gate', '--beads', 'bd-int', '--reported-commit', 'abcdef123456'],
      IntegrityGateOutputSchema,
    );
    expect(unknown.json.reason_code).toBe('reported_commit_not_found');
    // a commit on a branch that HEAD does not contain
    const base = git(wt, 'rev-parse', 'HEAD~1');
    git(wt, 'checkout', '-q', '-b', 'elsewhere', base);
    const foreign = commit(wt, 'y.txt', 'elsewhere');
    git(wt, 'checkout', '-q', 'main');
    const notAncestor = await sb.dxJson(
      ['integrity-gate', '--beads', 'bd-int', '--reported-commit', foreign],
      IntegrityGateOutputSchema,
    );
    expect(notAncestor).toMatchObject({ code: 1, json: { reason_code: 'reported_not_ancestor' } });
    // the job's base itself is not a descendant of a later commit
    const { repo, a, b } = historyRepo('int2');
    expect(
      (
        await sb.dxJson(
          ['integrity-gate', '--worktree', repo, '--reported-commit', a, '--base', b],
          IntegrityGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('reported_not_ancestor');
    expect(
      (
        await sb.dxJson(
          ['integrity-gate', '--worktree', repo, '--reported-commit', b, '--base', a],
          IntegrityGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('integrity_ok');
  });

  it('says reported_commit_missing when the job made no commit and none is given', async () => {
    await runJob('bd-nocommit', [{ write: 'z.txt' }, { exit: 0 }]);
    expect(
      (await sb.dxJson(['integrity-gate', '--beads', 'bd-nocommit'], IntegrityGateOutputSchema)).json.reason_code,
    ).toBe('reported_commit_missing');
  });
});

describe('feature-key-gate', () => {
  it('passes when every commit of the job carries the trailer and names the ones that do not', async () => {
    await runJob('bd-fk.1', [
      { write: 'a.txt' },
      { commit: 'feat: a\n\nFeature-Key: bd-fk.1' },
      { write: 'b.txt' },
      { commit: 'feat: b\n\nFeature-Key: bd-fk.1\nCo-authored-by: x' },
      { exit: 0 },
    ]);
    const ok = await sb.dxJson(['feature-key-gate', '--beads', 'bd-fk.1'], FeatureKeyGateOutputSchema);
    expect(ok.json).toMatchObject({
      passed: true,
      reason_code: 'feature_key_ok',
      checked_commits: 2,
      feature_key: 'bd-fk.1',
    });
    const wt = await runJob('bd-fk2', [
      { write: 'a.txt' },
      { commit: 'feat: a\n\nFeature-Key: bd-fk2' },
      { write: 'b.txt' },
      { commit: 'fix: forgot the trailer' },
      { write: 'c.txt' },
      { commit: 'feat: c\n\nFeature-Key: bd-other' },
      { exit: 0 },
    ]);
    const missing = await sb.dxJson(['feature-key-gate', '--beads', 'bd-fk2'], FeatureKeyGateOutputSchema);
    expect(missing.code).toBe(1);
    expect(missing.json).toMatchObject({ reason_code: 'feature_key_missing_in_commits', checked_commits: 3 });
    expect(missing.json.missing_commits).toEqual([git(wt, 'rev-parse', 'HEAD'), git(wt, 'rev-parse', 'HEAD~1')]);
    // a key in the subject line is not a trailer
    const { repo } = historyRepo('fk3');
    git(repo, 'checkout', '-q', '-b', 'feature');
    commit(repo, 'f.txt', 'Feature-Key: bd-fk3 in the subject only');
    expect(
      (
        await sb.dxJson(
          ['feature-key-gate', '--worktree', repo, '--feature-key', 'bd-fk3', '--base-branch', 'main'],
          FeatureKeyGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('feature_key_missing_in_commits');
  });

  it('reports an invalid key, no commits in range, a missing key and a missing base', async () => {
    const { repo } = historyRepo('fk4');
    expect(
      (
        await sb.dxJson(
          ['feature-key-gate', '--worktree', repo, '--feature-key', 'not a key'],
          FeatureKeyGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('feature_key_invalid_format');
    expect(
      (
        await sb.dxJson(
          ['feature-key-gate', '--worktree', repo, '--feature-key', 'bd-x', '--base-branch', 'main'],
          FeatureKeyGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('no_commits_in_range');
    expect(
      (await sb.dxJson(['feature-key-gate', '--worktree', repo], FeatureKeyGateOutputSchema)).json.reason_code,
    ).toBe('feature_key_missing');
    expect(
      (
        await sb.dxJson(
          ['feature-key-gate', '--worktree', repo, '--feature-key', 'bd-x', '--base-branch', 'nosuch'],
          FeatureKeyGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('base_missing');
  });

  it('a range git cannot walk (a commit object lost) fails as unreadable, not as "no commits"', async () => {
    const { repo, init } = historyRepo('fk5');
    const lost = git(repo, 'rev-parse', 'HEAD~1');
    // the commit's loose object, as a failing disk or a careless clean-up leaves it
    fs.rmSync(path.join(repo, '.git', 'objects', lost.slice(0, 2), lost.slice(2)));
    const gate = await sb.dxJson(
      ['feature-key-gate', '--worktree', repo, '--feature-key', 'bd-fk5', '--base', init],
      FeatureKeyGateOutputSchema,
    );
    expect(gate.code).toBe(1);
    expect(gate.json).toMatchObject({
      passed: false,
      reason_code: 'worktree_unreadable',
      next_action: 'read_the_git_error_then_run_the_gate_again',
      checked_commits: 0,
    });
    expect(gate.json.details).toContain(`git log failed: error: Could not read ${lost}`);
  });
});

describe('scope-gate', () => {
  it('a job begun on an unborn branch (git init, then start): its committed files count, its commits are checked', async () => {
    const wt = path.join(sb.agents, 'bd-unborn', 'repo');
    fs.mkdirSync(wt, { recursive: true });
    git(wt, 'init', '-q');
    const allow = sb.prompt('src/\n', 'allowed.txt');
    const steps = [
      { write: 'src/a.ts' },
      { write: 'docs/notes.md' },
      { commit: 'feat: the first commit\n\nFeature-Key: bd-unborn' },
      { write: 'src/b.ts' },
      { exit: 0 },
    ];
    const started = await sb.dx([...sb.fakeStartArgs('bd-unborn', steps, wt), '--allowed-paths-file', allow]);
    expect(started.code, started.stderr).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-unborn'], WaitOutputSchema)).json.state).toBe('exited_ok');
    const scope = await sb.dxJson(['scope-gate', '--beads', 'bd-unborn'], ScopeGateOutputSchema);
    expect(scope.json).toMatchObject({
      passed: false,
      reason_code: 'path_outside_allowlist',
      violations: ['docs/notes.md'],
      changed_files: ['docs/notes.md', 'src/a.ts', 'src/b.ts'],
    });
    const key = await sb.dxJson(['feature-key-gate', '--beads', 'bd-unborn'], FeatureKeyGateOutputSchema);
    expect(key.json).toMatchObject({ passed: true, reason_code: 'feature_key_ok', checked_commits: 1, base: null });
  });

  it('the byte-code a test run leaves (a repository that ignores none) is neither work nor outside the allowlist', async () => {
    const wt = sb.worktree('bd-pyc');
    fs.mkdirSync(path.join(wt, 'tests'));
    fs.writeFileSync(path.join(wt, 'tests', 'helper.py'), 'VALUE = 1\n');
    git(wt, 'add', '-A');
    git(wt, 'commit', '-q', '-m', 'tests');
    const allow = sb.prompt('src/\n', 'allowed-src.txt');
    // the real python writes tests/__pycache__/helper.cpython-3xx.pyc as it imports the module
    const runTests = { run: ['python3', '-c', 'import sys; sys.path.insert(0, "tests"); import helper'] };
    const onlyTests = await sb.dx([
      ...sb.fakeStartArgs('bd-pyc', [runTests, { exit: 0 }], wt),
      '--allowed-paths-file',
      allow,
    ]);
    expect(onlyTests.code, onlyTests.stderr).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-pyc'], WaitOutputSchema)).json).toMatchObject({
      state: 'no_op',
      reason_code: 'exit_zero_no_mutations',
    });
    expect(fs.readdirSync(path.join(wt, 'tests', '__pycache__')).length).toBe(1);
    const wt2 = sb.worktree('bd-pyc-work');
    fs.mkdirSync(path.join(wt2, 'tests'));
    fs.writeFileSync(path.join(wt2, 'tests', 'helper.py'), 'VALUE = 1\n');
    git(wt2, 'add', '-A');
    git(wt2, 'commit', '-q', '-m', 'tests');
    const work = await sb.dx([
      ...sb.fakeStartArgs('bd-pyc-work', [{ write: 'src/a.py' }, runTests, { exit: 0 }], wt2),
      '--allowed-paths-file',
      allow,
    ]);
    expect(work.code, work.stderr).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-pyc-work'], WaitOutputSchema)).json.state).toBe('exited_ok');
    const scope = await sb.dxJson(['scope-gate', '--beads', 'bd-pyc-work'], ScopeGateOutputSchema);
    expect(scope.json).toMatchObject({ passed: true, reason_code: 'scope_ok', changed_files: ['src/a.py'] });
  });

  it('flags paths outside the allowlist and a blown mutation budget, using the settings given at start', async () => {
    const allow = path.join(sb.dir, 'allowed.txt');
    fs.writeFileSync(allow, '# only source and its tests\nsrc/\ntest/**/*.test.ts\n');
    await runJob(
      'bd-scope',
      [
        { write: 'src/a.ts' },
        { write: 'test/unit/a.test.ts' },
        { write: 'docs/notes.md' },
        { commit: 'wip' },
        { write: 'src/b.ts' },
        { exit: 0 },
      ],
      ['--allowed-paths-file', allow, '--mutation-budget', '10'],
    );
    const r = await sb.dxJson(['scope-gate', '--beads', 'bd-scope'], ScopeGateOutputSchema);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({
      reason_code: 'path_outside_allowlist',
      violations: ['docs/notes.md'],
      mutations: 4,
      mutation_budget: 10,
    });
    expect(r.json.changed_files).toEqual(['docs/notes.md', 'src/a.ts', 'src/b.ts', 'test/unit/a.test.ts']);
    fs.writeFileSync(allow, 'src\ntest\ndocs/*.md\n');
    expect((await sb.dxJson(['scope-gate', '--beads', 'bd-scope'], ScopeGateOutputSchema)).json.reason_code).toBe(
      'scope_ok',
    );
    const budget = await sb.dxJson(
      ['scope-gate', '--beads', 'bd-scope', '--mutation-budget', '3'],
      ScopeGateOutputSchema,
    );
    expect(budget.json).toMatchObject({ reason_code: 'mutation_budget_exceeded', mutations: 4 });
  });

  it('a job begun in a subdirectory: its allowlist is read from there, its paths named from the top', async () => {
    const repo = sb.worktree('bd-subdir');
    const job = path.join(repo, 'packages', 'a');
    fs.mkdirSync(path.join(job, 'src'), { recursive: true });
    fs.mkdirSync(path.join(repo, 'packages', 'b'), { recursive: true });
    fs.writeFileSync(path.join(job, 'src', 'x.ts'), 'x\n');
    fs.writeFileSync(path.join(repo, 'packages', 'b', 'y.ts'), 'y\n');
    fs.writeFileSync(path.join(repo, 'package-lock.json'), '{}\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'a monorepo');
    const allow = sb.prompt('src/\n../../package-lock.json\n', 'allowed-subdir.txt');
    const steps = [
      { write: 'src/new.ts' },
      { write: 'src/x.ts', content: 'changed\n' },
      { write: '../../package-lock.json', content: '{"lockfileVersion":3}\n' },
      { exit: 0 },
    ];
    const started = await sb.dx([...sb.fakeStartArgs('bd-subdir', steps, job), '--allowed-paths-file', allow]);
    expect(started.code, started.stderr).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-subdir'], WaitOutputSchema)).json.state).toBe('exited_ok');
    const inside = await sb.dxJson(['scope-gate', '--beads', 'bd-subdir'], ScopeGateOutputSchema);
    expect(inside.json).toMatchObject({
      passed: true,
      reason_code: 'scope_ok',
      changed_files: ['package-lock.json', 'packages/a/src/new.ts', 'packages/a/src/x.ts'],
    });
    // a change beside the job's directory is outside an allowlist written from it
    fs.writeFileSync(path.join(repo, 'packages', 'b', 'y.ts'), 'y, changed\n');
    const beside = await sb.dxJson(['scope-gate', '--beads', 'bd-subdir'], ScopeGateOutputSchema);
    expect(beside.json).toMatchObject({ passed: false, violations: ['packages/b/y.ts'] });
  });

  it('reports an unreadable allowlist instead of silently passing', async () => {
    await runJob('bd-scope2', [{ write: 'src/a.ts' }, { exit: 0 }]);
    const r = await sb.dxJson(
      ['scope-gate', '--beads', 'bd-scope2', '--allowed-paths-file', path.join(sb.dir, 'missing.txt')],
      ScopeGateOutputSchema,
    );
    expect(r).toMatchObject({ code: 1, json: { reason_code: 'allowed_paths_file_unreadable' } });
  });
});

describe('evidence-gate', () => {
  const honestJob = [
    { print: '$ npm test' },
    { print: ' Test Files  3 passed (3)' },
    { print: '      Tests  12 passed (12)' },
    { write: 'src/feature.ts' },
    { commit: 'feat: the feature' },
    { exit: 0 },
  ];

  it('verifies claims the job backs: tests run and passed, the commit, the files', async () => {
    const wt = await runJob('bd-ev', honestJob);
    const sha = git(wt, 'rev-parse', '--short', 'HEAD');
    const signoff = sb.prompt(
      `# Signoff\n- [x] Tests passed (npm test)\n- [x] Committed ${sha}\n- [x] Modified \`src/feature.ts\` for Node.js 20, e.g. its fetch\n- [ ] Docs updated\nVERIFIED: reviewed the diff by eye\n`,
      'SIGNOFF.md',
    );
    const r = await sb.dxJson(
      ['evidence-gate', '--beads', 'bd-ev', '--signoff-file', signoff],
      EvidenceGateOutputSchema,
    );
    expect(r.code, JSON.stringify(r.json)).toBe(0);
    expect(r.json).toMatchObject({ passed: true, reason_code: 'evidence_ok', verified: 3, total: 4 });
    expect(r.json.claims.map((c) => [c.kind, c.status])).toEqual([
      ['tests_passed', 'verified'],
      ['commit_made', 'verified'],
      ['files_changed', 'verified'],
      ['other', 'unverifiable'],
    ]);
    const strict = await sb.dxJson(
      ['evidence-gate', '--beads', 'bd-ev', '--signoff-file', signoff, '--strict'],
      EvidenceGateOutputSchema,
    );
    expect(strict).toMatchObject({ code: 1, json: { reason_code: 'unverified_claims' } });
  });

  it('catches claims the job contradicts', async () => {
    await runJob('bd-liar', [
      { print: '$ npm test' },
      { print: 'Tests  2 failed | 10 passed (12)' },
      { write: 'src/a.ts' },
      { exit: 0 },
    ]);
    const signoff = sb.prompt(
      '- [x] All tests pass\n- [x] Committed the change\n- [x] Updated `src/b.ts`\n',
      'SIGNOFF.md',
    );
    const r = await sb.dxJson(
      ['evidence-gate', '--beads', 'bd-liar', '--signoff-file', signoff],
      EvidenceGateOutputSchema,
    );
    expect(r.code).toBe(1);
    expect(r.json.reason_code).toBe('unverified_claims');
    expect(r.json.claims.map((c) => [c.kind, c.status, c.evidence])).toEqual([
      ['tests_passed', 'contradicted', 'the last test result in the job log is a failure'],
      ['commit_made', 'contradicted', 'the job made no commit'],
      ['files_changed', 'contradicted', 'not changed by the job: src/b.ts'],
    ]);
    // a bare name the worktree holds, unchanged, is a claim the job contradicts
    const readme = sb.prompt('- [x] Updated the file README.md\n', 'SIGNOFF.md');
    const unchanged = await sb.dxJson(
      ['evidence-gate', '--beads', 'bd-liar', '--signoff-file', readme],
      EvidenceGateOutputSchema,
    );
    expect(unchanged.json.claims.map((c) => c.evidence)).toEqual(['not changed by the job: README.md']);
  });

  it('fails a signoff that claims nothing: empty, prose only, or every box unchecked', async () => {
    await runJob('bd-ev0', honestJob);
    for (const text of ['', '# Signoff\nAll good, trust me.\n', '- [ ] Tests passed\n- [ ] Committed\n']) {
      const r = await sb.dxJson(
        ['evidence-gate', '--beads', 'bd-ev0', '--signoff-file', sb.prompt(text, 'SIGNOFF.md')],
        EvidenceGateOutputSchema,
      );
      expect(r.code, text).toBe(1);
      expect(r.json, text).toMatchObject({
        passed: false,
        reason_code: 'signoff_without_claims',
        next_action: 'write_the_signoffs_claims',
        total: 0,
      });
    }
  });

  it('reads the job log without blocking: a FIFO in its place leaves a test claim unbacked', async () => {
    await runJob('bd-evfifo', honestJob);
    const log = path.join(sb.state, 'fake', 'bd-evfifo.log');
    fs.rmSync(log);
    execFileSync('mkfifo', [log]);
    const r = await sb.dxJson(
      ['evidence-gate', '--beads', 'bd-evfifo', '--signoff-file', sb.prompt('- [x] Tests passed\n', 'SIGNOFF.md')],
      EvidenceGateOutputSchema,
      { timeoutMs: 20_000 },
    );
    expect(r.code).toBe(1);
    expect(r.json.claims.map((c) => [c.kind, c.status])).toEqual([['tests_passed', 'contradicted']]);
  });

  it('reports a missing or unreadable signoff file and a job without an outcome', async () => {
    await runJob('bd-ev2', honestJob);
    expect(
      (
        await sb.dxJson(
          ['evidence-gate', '--beads', 'bd-ev2', '--signoff-file', path.join(sb.dir, 'none.md')],
          EvidenceGateOutputSchema,
        )
      ).json.reason_code,
    ).toBe('signoff_file_missing');
    const locked = sb.prompt('- [x] Tests passed\n', 'LOCKED.md');
    fs.chmodSync(locked, 0o000);
    const r = await sb.dx(['evidence-gate', '--beads', 'bd-ev2', '--signoff-file', locked, '--json'], {
      wrap: WITHOUT_DAC_OVERRIDE,
    });
    expect(r.code).toBe(1);
    expect(EvidenceGateOutputSchema.parse(JSON.parse(r.stdout))).toMatchObject({
      reason_code: 'signoff_file_missing',
      details: expect.stringContaining('not readable'),
    });
    const wt = sb.worktree('bd-running');
    await sb.dx(sb.fakeStartArgs('bd-running', [{ hang: true }], wt));
    const running = await sb.dxJson(
      ['evidence-gate', '--beads', 'bd-running', '--signoff-file', sb.prompt('- [x] Tests passed\n')],
      EvidenceGateOutputSchema,
    );
    expect(running.json.reason_code).toBe('outcome_missing');
    expect((await sb.dx(['evidence-gate', '--beads', 'bd-nope', '--signoff-file', locked])).code).toBe(1);
  });
});
