import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import {
  CheckOutputSchema,
  ErrorOutputSchema,
  EvidenceGateOutputSchema,
  JobReportSchema,
  ScopeGateOutputSchema,
  StartOutputSchema,
  StatusOutputSchema,
  WaitOutputSchema,
} from '@dx/core';
import { statFields } from '../fixtures/proc.mjs';
import { CLI_BIN } from '../helpers/paths.js';
import {
  createSandbox,
  killJobProcesses,
  git,
  WITHOUT_DAC_OVERRIDE,
  waitFor,
  withJson,
  type CliResult,
  type Sandbox,
} from '../helpers/sandbox.js';

let sb: Sandbox;
let wt: string;
let prompt: string;
beforeEach(() => {
  sb = createSandbox();
  wt = sb.worktree('bd-ok');
  prompt = sb.prompt({ steps: [{ message: 'hi' }, { hang: true }] });
});
afterEach(async () => {
  await sb.cleanup();
});

/** One line on stderr, naming the problem; the documented exit code. */
function expectRefusal(r: CliResult, exitCode: number, reason: string, fragment?: string | RegExp): void {
  expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(exitCode);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(`reason_code=${reason}`);
  if (fragment) expect(lines[0]).toMatch(fragment);
}

const start = (...extra: string[]) => [
  'start',
  '--provider',
  'fake',
  '--prompt-file',
  prompt,
  ...(extra.includes('--worktree') ? [] : ['--worktree', wt]),
  ...extra,
];

/** Processes whose environment names this sandbox's state dir (the watchers its starts spawned). */
function processesOf(stateDir: string): number[] {
  const found: number[] = [];
  for (const pid of fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`DX_RUNNER_STATE_DIR=${stateDir}`))
        found.push(Number(pid));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

describe('bad input: clear message, documented exit code, nothing lost', () => {
  it('a refused start returns at once and leaves no watcher behind (the bin spawns one before oclif loads)', async () => {
    for (const args of [
      start('--beads', 'bd-ok', '--provider', 'nope'),
      start('--beads', 'bd-ok', '--bogus'),
      start('--beads', 'bd x'),
    ]) {
      const r = await sb.dx(args, { timeoutMs: 20_000 });
      expect(r.code, r.stderr).not.toBe(0);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    await waitFor(() => processesOf(sb.state).length === 0, 'the unused watchers to exit', 5_000);
  });

  it.each([['../x'], ['bd x'], ['/etc/passwd'], ['-rf'], ['a'.repeat(200)], ['bd..x'], ['']])(
    'refuses beads id %j with exit 1',
    async (id) => {
      const r = await sb.dx(start(`--beads=${id}`));
      if (id === '-rf' || id === '') {
        expect(r.code).toBe(1);
        return;
      }
      expectRefusal(r, 1, 'invalid_beads_id', 'invalid beads id');
      for (const cmd of [['check'], ['stop'], ['report'], ['logs']]) {
        const other = await sb.dx([...cmd, '--beads', id]);
        expect(other.code).toBe(1);
      }
      expect(fs.existsSync(path.join(sb.state))).toBe(false);
    },
  );

  it('a mistyped flag or an empty argument is named as what it is', async () => {
    expectRefusal(await sb.dx(['logs', '--beads', 'bd-ok', '--tail', '-5']), 1, 'usage', /Nonexistent flag: --tail/);
    expectRefusal(await sb.dx(['wait', 'bd-ok', '--timeout-sec', '-1']), 1, 'usage', /Nonexistent flag: --timeout-sec/);
    // an age past any record's (a script's runaway number): refused, nothing removed
    expectRefusal(
      await sb.dx(['prune', '--retention', '--older-than', '99999999999999999999999d']),
      1,
      'invalid_flag',
      'expected at most 365000d (1,000 years)',
    );
    // a flag before the command is not taken for an unknown command
    expectRefusal(
      await sb.dx(['--beads', 'bd-ok', 'check']),
      1,
      'usage',
      'flags go after the command: "--beads" came first',
    );
    const json = await sb.dx(['--json', 'status']);
    expect(json.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(json.stdout)).error).toMatchObject({
      reason_code: 'usage',
      message: expect.stringContaining('"--json" came first'),
    });
    // a flag without its value (a script's unset variable, unquoted: `check --beads $ID`) or given
    // twice is a usage error, exit 1: never 2, which check means as "stalled"
    expectRefusal(await sb.dx(['check', '--beads']), 1, 'invalid_flag', 'Flag --beads expects a value');
    expectRefusal(await sb.dx(['status', '--recent']), 1, 'invalid_flag', 'Flag --recent expects a value');
    expectRefusal(
      await sb.dx(['report', '--beads', 'bd-ok', '--format']),
      1,
      'invalid_flag',
      'Flag --format expects one of these values: json, markdown',
    );
    expectRefusal(
      await sb.dx(['check', '--beads', 'bd-a', '--beads', 'bd-b']),
      1,
      'usage',
      'Flag --beads can only be specified once',
    );
    const noValue = await sb.dx(['check', '--json', '--beads']);
    expect(noValue.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(noValue.stdout)).error).toMatchObject({
      reason_code: 'invalid_flag',
      exit_code: 1,
    });
    // an empty argument (a script's unset variable) is named as one
    expectRefusal(await sb.dx(['status', '']), 1, 'usage', 'Unexpected argument: "" (an empty string)');
    // the argument itself is still checked as --beads is
    for (const cmd of ['check', 'stop', 'logs', 'wait', 'report', 'restart', 'finalize'])
      expectRefusal(await sb.dx([cmd, '../x']), 1, 'invalid_beads_id', 'invalid beads id "../x"');
    expect(fs.existsSync(sb.state)).toBe(false);
  });

  it('an error no command foresaw is still one line, redacted: internal_error, exit 1', async () => {
    // a state root under procfs, where nobody may create anything: not a case any command handles
    const r = await sb.dx(['status'], { env: { DX_RUNNER_STATE_DIR: '/proc/1' } });
    expectRefusal(r, 1, 'internal_error', /^Error: ENOENT: .*\/proc\/1\//);
    // its message can hold anything: here a key's value, named in the state root's path
    const secret = 'zk-unforeseen0secret0value42';
    const env = { ZAI_API_KEY: secret, DX_RUNNER_STATE_DIR: `/proc/1/${secret}` };
    const plain = await sb.dx(start('--beads', 'bd-ok'), { env });
    expectRefusal(plain, 1, 'internal_error', /mkdir '\/proc\/1\/\[REDACTED\]'/);
    const json = await sb.dx(start('--beads', 'bd-ok', '--json'), { env });
    expect(ErrorOutputSchema.parse(JSON.parse(json.stdout)).error.reason_code).toBe('internal_error');
    for (const out of [plain.stdout, plain.stderr, json.stdout, json.stderr]) expect(out).not.toContain(secret);
  });

  it('refuses a missing prompt file (exit 1) and a missing --prompt-file (exit 1, prompt_file_required)', async () => {
    expectRefusal(
      await sb.dx([
        'start',
        '--beads',
        'bd-1',
        '--provider',
        'fake',
        '--prompt-file',
        path.join(sb.dir, 'nope.prompt'),
        '--worktree',
        wt,
      ]),
      1,
      'prompt_file_missing',
      'prompt file not found',
    );
    expectRefusal(
      await sb.dx(['start', '--beads', 'bd-1', '--provider', 'fake', '--worktree', wt]),
      1,
      'prompt_file_required',
    );
    const emptyFile = sb.prompt('   \n');
    expectRefusal(
      await sb.dx(['start', '--beads', 'bd-1', '--provider', 'fake', '--prompt-file', emptyFile, '--worktree', wt]),
      1,
      'prompt_file_empty',
    );
    expectRefusal(
      await sb.dx(['start', '--beads', 'bd-1', '--provider', 'fake', '--prompt-file', sb.dir, '--worktree', wt]),
      1,
      'prompt_file_invalid',
    );
  });

  it('a second job in a worktree where another runs is refused: each would count the other’s changes', async () => {
    const shared = sb.worktree('shared');
    const hang = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    const startIn = (beads: string, ...extra: string[]) =>
      sb.dx(['start', '--beads', beads, '--provider', 'fake', '--prompt-file', hang, '--worktree', shared, ...extra]);
    expect((await startIn('bd-first')).code).toBe(0);
    expectRefusal(
      await startIn('bd-second'),
      1,
      'worktree_in_use',
      `worktree ${fs.realpathSync(shared)} is in use by job bd-first (provider fake, running)`,
    );
    expect(fs.existsSync(path.join(sb.state, 'fake', 'bd-second.meta'))).toBe(false);
    expectRefusal(await startIn('bd-second', '--dry-run'), 1, 'worktree_in_use');
    // a read-only job may look at it meanwhile; once the first has ended, the worktree is free again
    expect((await startIn('bd-reader', '--expect-no-changes')).code).toBe(0);
    for (const beads of ['bd-first', 'bd-reader']) expect((await sb.dx(['stop', '--beads', beads])).code).toBe(0);
    expect((await startIn('bd-second')).code).toBe(0);
    expect((await sb.dx(['stop', '--beads', 'bd-second'])).code).toBe(0);
  });

  it("a job of another state root (a cron line's, the operator's shell's) in the same worktree is refused too", async () => {
    const shared = sb.worktree('shared-roots');
    const hang = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    const cronRoot = path.join(sb.dir, 'cron-state');
    const startIn = (beads: string, env: Record<string, string> = {}) =>
      sb.dx(['start', '--beads', beads, '--provider', 'fake', '--prompt-file', hang, '--worktree', shared], { env });
    onTestFinished(() => killJobProcesses(cronRoot));
    expect((await startIn('bd-nightly', { DX_RUNNER_STATE_DIR: cronRoot })).code).toBe(0);
    expectRefusal(
      await startIn('bd-by-hand'),
      1,
      'worktree_in_use',
      `worktree ${fs.realpathSync(shared)} is in use by job bd-nightly (provider fake) of another state root, ${fs.realpathSync(cronRoot)}`,
    );
    expectRefusal(await startIn('bd-by-hand', { DX_RUNNER_STATE_DIR: cronRoot }), 1, 'worktree_in_use');
    // once it has ended, its claim is gone with it and the worktree is free in either root
    expect((await sb.dx(['stop', '--beads', 'bd-nightly'], { env: { DX_RUNNER_STATE_DIR: cronRoot } })).code).toBe(0);
    expect(fs.existsSync(path.join(shared, '.git', 'dx-runner-job'))).toBe(false);
    expect((await startIn('bd-by-hand')).code).toBe(0);
    expect((await sb.dx(['stop', '--beads', 'bd-by-hand'])).code).toBe(0);
    // a claim whose watcher is gone (killed, the machine rebooted) proves nothing
    const gone = spawnSync(process.execPath, ['-e', '0']);
    fs.writeFileSync(
      path.join(shared, '.git', 'dx-runner-job'),
      `state_root=${cronRoot}\nprovider=fake\nbeads=bd-crashed\nrun_instance=x\nwatcher_pid=${gone.pid}\nwatcher_start_ticks=1\n`,
    );
    expect((await startIn('bd-after-crash')).code).toBe(0);
    expect((await sb.dx(['stop', '--beads', 'bd-after-crash'])).code).toBe(0);
    // but one whose agent outlived its killed watcher still holds the worktree
    const agent = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    onTestFinished(() => void agent.kill('SIGKILL'));
    const agentTicks = statFields(agent.pid!)![19];
    fs.writeFileSync(
      path.join(shared, '.git', 'dx-runner-job'),
      `state_root=${cronRoot}\nprovider=fake\nbeads=bd-orphan\nrun_instance=y\nwatcher_pid=${gone.pid}\nwatcher_start_ticks=1\nagent_pid=${agent.pid}\nagent_start_ticks=${agentTicks}\n`,
    );
    expectRefusal(await startIn('bd-beside-orphan'), 1, 'worktree_in_use', 'is in use by job bd-orphan');
  });

  it('two subdirectories of one repository, or a directory inside another, are one worktree for worktree_in_use', async () => {
    const repo = sb.worktree('mono');
    for (const dir of ['packages/a', 'packages/b']) fs.mkdirSync(path.join(repo, dir), { recursive: true });
    const plain = path.join(sb.agents, 'plain', 'outer');
    fs.mkdirSync(path.join(plain, 'inner'), { recursive: true });
    const hang = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    const startIn = (beads: string, worktree: string) =>
      sb.dx(['start', '--beads', beads, '--provider', 'fake', '--prompt-file', hang, '--worktree', worktree]);
    expect((await startIn('bd-a', path.join(repo, 'packages', 'a'))).code).toBe(0);
    expectRefusal(
      await startIn('bd-b', path.join(repo, 'packages', 'b')),
      1,
      'worktree_in_use',
      `is in use by job bd-a (provider fake, working in ${fs.realpathSync(repo)}/packages/a of the same work tree ${fs.realpathSync(repo)}, running)`,
    );
    expectRefusal(await startIn('bd-root', repo), 1, 'worktree_in_use');
    expect((await startIn('bd-outer', plain)).code).toBe(0);
    expectRefusal(await startIn('bd-inner', path.join(plain, 'inner')), 1, 'worktree_in_use');
    // another repository beside it is its own worktree
    expect((await startIn('bd-other', sb.worktree('other'))).code).toBe(0);
    for (const beads of ['bd-a', 'bd-outer', 'bd-other'])
      expect((await sb.dx(['stop', '--beads', beads])).code).toBe(0);
  });

  it("a git lock in the worktree's repository (another git at work, or one killed) is refused: the agent's commits would fail", async () => {
    const repo = sb.worktree('locked');
    const linked = path.join(sb.agents, 'locked-linked', 'repo');
    git(repo, 'worktree', 'add', '-q', '-b', 'linked', linked);
    const nothing = [{ message: 'nothing to do' }, { result: 'done' }, { exit: 0 }];
    const startIn = (beads: string, worktree: string, ...extra: string[]) =>
      sb.dx([...sb.fakeStartArgs(beads, nothing, worktree), ...extra]);
    const lock = path.join(repo, '.git', 'index.lock');
    fs.writeFileSync(lock, '');
    expectRefusal(await startIn('bd-locked', repo), 1, 'worktree_git_locked', `has a git lock (${lock}, since `);
    expectRefusal(await startIn('bd-locked', repo, '--dry-run'), 1, 'worktree_git_locked');
    expect(fs.existsSync(path.join(sb.state, 'fake', 'bd-locked.meta'))).toBe(false);
    // a linked worktree has an index (and a lock) of its own: the main one's lock is not in its way
    expect((await startIn('bd-linked', linked)).code).toBe(0);
    fs.writeFileSync(path.join(repo, '.git', 'worktrees', 'repo', 'index.lock'), '');
    expectRefusal(await startIn('bd-linked-2', linked), 1, 'worktree_git_locked');
    fs.rmSync(path.join(repo, '.git', 'worktrees', 'repo', 'index.lock'));
    // a commit killed while it moved the branch leaves the branch's lock, in the common repository
    const branchLock = path.join(repo, '.git', 'refs', 'heads', 'linked.lock');
    fs.writeFileSync(branchLock, '');
    expectRefusal(await startIn('bd-linked-2', linked), 1, 'worktree_git_locked', branchLock);
    fs.rmSync(branchLock);
    // a read-only job may still look; once the lock is gone, the worktree is free
    expect((await startIn('bd-reader', repo, '--expect-no-changes')).code).toBe(0);
    fs.rmSync(lock);
    expect((await startIn('bd-locked', repo)).code).toBe(0);
    await sb.dxJson(['wait', 'bd-locked'], WaitOutputSchema);
  });

  it("a state root inside the worktree is refused (22): the job's own records would read as its changes", async () => {
    const repo = sb.worktree('bd-inside');
    const env = { DX_RUNNER_STATE_DIR: path.join(repo, '.dx-state') };
    const nothing = sb.prompt({ steps: [{ message: 'nothing to do' }, { result: 'done' }, { exit: 0 }] });
    const startInside = ['start', '--beads', 'bd-inside', '--provider', 'fake', '--prompt-file', nothing];
    const refused = await sb.dx([...startInside, '--worktree', repo], { env });
    expectRefusal(refused, 22, 'state_root_inside_worktree', `is inside the worktree ${fs.realpathSync(repo)}`);
    expect(fs.readdirSync(path.join(repo, '.dx-state'))).not.toContain('fake');
    expectRefusal(
      await sb.dx([...startInside, '--worktree', repo, '--dry-run'], { env }),
      22,
      'state_root_inside_worktree',
    );
    // a worktree in a subdirectory of that repository is watched as the whole repository's status
    fs.mkdirSync(path.join(repo, 'packages', 'a'), { recursive: true });
    expectRefusal(
      await sb.dx([...startInside, '--worktree', path.join(repo, 'packages', 'a'), '--dry-run'], { env }),
      22,
      'state_root_inside_worktree',
    );
    // one git ignores there is not among the changes: an agent that did nothing is still a no_op
    fs.writeFileSync(path.join(repo, '.gitignore'), '.dx-state/\n');
    git(repo, 'add', '.gitignore');
    git(repo, 'commit', '-q', '-m', 'ignore the state root');
    expect((await sb.dx([...startInside, '--worktree', repo], { env })).code).toBe(0);
    const waited = await sb.dxJson(['wait', 'bd-inside', '--timeout', '60'], WaitOutputSchema, { env });
    expect(waited.json).toMatchObject({ state: 'no_op', reason_code: 'exit_zero_no_mutations' });
  });

  // only root can give a repository to another user
  it.runIf(process.getuid?.() === 0)(
    "a repository owned by another user, which git refuses (safe.directory), is refused (22) before the agent's git fails in it",
    async () => {
      const repo = sb.worktree('bd-foreign');
      fs.chownSync(repo, 4242, 4242);
      fs.chownSync(path.join(repo, '.git'), 4242, 4242);
      const args = start('--beads', 'bd-foreign', '--worktree', repo);
      const fragment = `git refuses the repository at ${fs.realpathSync(repo)}: it is owned by uid 4242`;
      expectRefusal(await sb.dx(args), 22, 'worktree_not_trusted_by_git', fragment);
      expectRefusal(await sb.dx([...args, '--dry-run']), 22, 'worktree_not_trusted_by_git');
      expect(fs.existsSync(path.join(sb.state, 'fake', 'bd-foreign.meta'))).toBe(false);
      // trusted as the message says, it runs, and the agent's git (private HOME) trusts it too
      fs.mkdirSync(path.join(sb.env.HOME, '.config', 'git'), { recursive: true });
      fs.writeFileSync(
        path.join(sb.env.HOME, '.config', 'git', 'config'),
        `[safe]\n\tdirectory = ${fs.realpathSync(repo)}\n`,
      );
      const committing = [
        { write: 'src/a.ts' },
        { run: ['git', 'add', '-A'] },
        { run: ['git', '-c', 'user.name=A', '-c', 'user.email=a@b.c', 'commit', '-q', '-m', 'a'] },
        { exit: 0 },
      ];
      expect((await sb.dx(sb.fakeStartArgs('bd-foreign', committing, repo))).code).toBe(0);
      const waited = await sb.dxJson(['wait', 'bd-foreign', '--timeout', '60'], WaitOutputSchema);
      expect(waited.json).toMatchObject({ state: 'exited_ok' });
      const report = await sb.dxJson(['report', '--beads', 'bd-foreign'], JobReportSchema);
      expect(report.json.evidence.commits).toHaveLength(1);
    },
  );

  it('a worktree whose repository git cannot use (pruned linked worktree, broken git config) is refused (22) in git’s words', async () => {
    const main = sb.worktree('bd-main');
    const linked = path.join(sb.agents, 'bd-linked', 'repo');
    git(main, 'worktree', 'add', '-q', linked);
    fs.rmSync(path.join(main, '.git', 'worktrees', 'repo'), { recursive: true });
    const startIn = (beads: string, worktree: string, ...extra: string[]) =>
      start('--beads', beads, '--worktree', worktree, ...extra);
    expectRefusal(
      await sb.dx(startIn('bd-linked', linked)),
      22,
      'worktree_git_unusable',
      `(fatal: not a git repository: ${fs.realpathSync(main)}/.git/worktrees/repo)`,
    );
    expect(fs.existsSync(path.join(sb.state, 'fake', 'bd-linked.meta'))).toBe(false);
    const broken = path.join(sb.dir, 'broken.gitconfig');
    fs.writeFileSync(broken, '[user\n');
    expectRefusal(
      await sb.dx(startIn('bd-main', main, '--dry-run'), { env: { GIT_CONFIG_GLOBAL: broken } }),
      22,
      'worktree_git_unusable',
      `(fatal: bad config line 1 in file ${broken})`,
    );
    // a restart into a worktree git lost since is refused before the running instance is stopped
    const second = path.join(sb.agents, 'bd-second', 'repo');
    git(main, 'worktree', 'add', '-q', second);
    const running = await sb.dxJson(startIn('bd-second', second), StartOutputSchema);
    fs.rmSync(git(second, 'rev-parse', '--absolute-git-dir').trim(), { recursive: true });
    expectRefusal(await sb.dx(['restart', '--beads', 'bd-second']), 22, 'worktree_git_unusable');
    // (its own watcher soon ends it as git_repository_gone: that is its finding, not the restart's)
    const after = (await sb.dxJson(['check', '--beads', 'bd-second'], CheckOutputSchema)).json;
    expect(after).toMatchObject({ run_instance: running.json.run_instance, retries: 0 });
    expect(after.reason_code).not.toBe('restarted');
    await sb.dx(['stop', '--beads', 'bd-second']);
    // no repository at all is a plain directory, as before
    const plain = path.join(sb.agents, 'bd-plain');
    fs.mkdirSync(plain);
    expect((await sb.dx(startIn('bd-plain', plain, '--dry-run'))).code).toBe(0);
  });

  it('a prompt or policy that is not UTF-8 (a Latin-1 "café") is refused, never handed on with a � in it', async () => {
    const latin1 = path.join(sb.dir, 'latin1.prompt');
    fs.writeFileSync(
      latin1,
      Buffer.concat([Buffer.from('# Task\nFix the caf'), Buffer.from([0xe9]), Buffer.from(' menu\n')]),
    );
    const startWith = (file: string) => [
      'start',
      '--beads',
      'bd-1',
      '--provider',
      'fake',
      '--prompt-file',
      file,
      '--worktree',
      wt,
    ];
    expectRefusal(
      await sb.dx(startWith(latin1)),
      1,
      'prompt_not_utf8',
      `prompt file ${latin1}: not UTF-8 text (line 2): save it as UTF-8`,
    );
    const piped = spawnSync(process.execPath, [CLI_BIN, ...startWith('-')], {
      env: sb.env,
      input: fs.readFileSync(latin1),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expectRefusal(
      { code: piped.status ?? -1, stdout: piped.stdout, stderr: piped.stderr },
      1,
      'prompt_not_utf8',
      'the prompt on stdin: not UTF-8 text (line 2)',
    );
    const policy = path.join(sb.dir, 'latin1.yaml');
    fs.writeFileSync(
      policy,
      Buffer.concat([Buffer.from('# caf'), Buffer.from([0xe9]), Buffer.from('\nproviders: {}\n')]),
    );
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--policy', policy)),
      1,
      'policy_unreadable',
      'not UTF-8 text (line 1)',
    );
    expect(fs.existsSync(path.join(sb.state, 'fake'))).toBe(false);
    // a UTF-8 prompt that starts with a byte-order mark (a Windows editor's) is taken, without the mark
    const bom = sb.prompt(`\uFEFF${JSON.stringify({ steps: [{ write: 'a.txt' }, { exit: 0 }] })}`);
    expect((await sb.dx(startWith(bom))).code).toBe(0);
    const waited = await sb.dxJson(['wait', 'bd-1', '--timeout', '60'], WaitOutputSchema);
    expect(waited.json.state).toBe('exited_ok');
    expect(fs.readFileSync(path.join(sb.state, 'fake', 'bd-1.prompt'), 'utf8').startsWith('{')).toBe(true);
  });

  it('a file named on the command line that is a FIFO, a device or a directory never hangs a command', async () => {
    const fifo = path.join(sb.dir, 'nobody-writes');
    execFileSync('mkfifo', [fifo]);
    const quick = { timeoutMs: 20_000 };
    // a FIFO nobody writes to reads as empty (it once blocked the command forever); /dev/zero and a
    // directory are refused at once (the first was once read until memory ran out)
    const scope = async (file: string) =>
      withJson(
        await sb.dx(['scope-gate', '--worktree', wt, '--allowed-paths-file', file, '--json'], quick),
        ScopeGateOutputSchema,
      );
    expect((await scope(fifo)).json).toMatchObject({ passed: true, allowed_paths: [] });
    for (const file of ['/dev/zero', sb.dir])
      expect((await scope(file)).json).toMatchObject({
        passed: false,
        reason_code: 'allowed_paths_file_unreadable',
        details: `allowed paths file ${file}: not a file or a pipe`,
      });
    expectRefusal(
      await sb.dx(start('--beads', 'bd-ok', '--allowed-paths-file', '/dev/zero'), quick),
      1,
      'allowed_paths_file_unreadable',
      'not a regular file',
    );
    expectRefusal(
      await sb.dx(['start', '--beads', 'bd-ok', '--provider', 'fake', '--prompt-file', fifo, '--worktree', wt], quick),
      1,
      'prompt_file_empty',
    );
    expectRefusal(await sb.dx(start('--beads', 'bd-ok', '--policy', '/dev/zero'), quick), 1, 'policy_unreadable');
    expect(fs.existsSync(path.join(sb.state, 'fake'))).toBe(false);
    // the evidence gate reads its signoff the same way (it needs a job to judge)
    expect((await sb.startFake('bd-signed', [{ write: 'a.txt' }, { exit: 0 }])).code).toBe(0);
    for (const file of [fifo, '/dev/zero']) {
      const evidence = await sb.dx(['evidence-gate', '--beads', 'bd-signed', '--signoff-file', file, '--json'], quick);
      expect(EvidenceGateOutputSchema.parse(JSON.parse(evidence.stdout))).toMatchObject(
        file === fifo ? { total: 0 } : { passed: false, reason_code: 'signoff_file_missing' },
      );
    }
  });

  it('takes a prompt through a pipe (`--prompt-file <(…)`): off the command line and out of any file', async () => {
    const steps = JSON.stringify({ steps: [{ write: 'piped.txt' }, { exit: 0 }] });
    // run by bash, so that an argument can be a pipe: $WT is the job's worktree, $P a prompt file
    const startByBash = (beads: string, rest: string, env: Record<string, string> = {}) =>
      spawnSync('bash', ['-c', `exec "$NODE" "$CLI" start --beads ${beads} --provider fake --worktree "$WT" ${rest}`], {
        env: { ...sb.env, NODE: process.execPath, CLI: CLI_BIN, WT: sb.worktree(beads), P: prompt, ...env },
        encoding: 'utf8',
        timeout: 60_000,
      });
    const r = startByBash('bd-piped', '--prompt-file <(printf %s "$STEPS")', { STEPS: steps });
    expect(r.status, r.stderr).toBe(0);
    const waited = await sb.dxJson(['wait', 'bd-piped', '--timeout', '60'], WaitOutputSchema);
    expect(waited.json).toMatchObject({ state: 'exited_ok' });
    // a policy is read again by its path (a wave hands it to every job): a pipe would give it once
    const policy = startByBash('bd-piped2', '--prompt-file "$P" --policy <(printf "{}")');
    expect(policy.status).toBe(1);
    expect(policy.stderr).toMatch(
      /cannot read policy \/dev\/fd\/\d+: not a regular file \(reason_code=policy_unreadable\)/,
    );
    // and so are the allowed paths start records for the job's scope-gate
    const allowed = startByBash('bd-piped3', '--prompt-file "$P" --allowed-paths-file <(printf "src/**")');
    expect(allowed.status).toBe(1);
    expect(allowed.stderr).toMatch(/not a regular file\) \(reason_code=allowed_paths_file_unreadable\)/);
  });

  it('a plugin that builds a launch the watcher cannot run is refused before anything of the job is touched', async () => {
    const bug = { env: { FAKE_PLUGIN_BUG: 'launch-bad-args' } };
    const steps = [{ write: 'a.txt' }, { exit: 0 }];
    expectRefusal(
      await sb.dx(sb.fakeStartArgs('bd-bad-launch', steps), bug),
      1,
      'provider_launch_invalid',
      'provider fake built a launch the watcher cannot run (args.1:',
    );
    // once a job recorded as launch_incomplete, with its prompt copy left in the state root
    expectRefusal(await sb.dx(['check', 'bd-bad-launch']), 1, 'job_not_found');
    expect(fs.readdirSync(path.join(sb.state, 'fake'))).toEqual([]);
    // a relaunch of a finished job refused the same way leaves that job as it was
    expect((await sb.startFake('bd-done', steps)).code).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-done'], WaitOutputSchema)).json.state).toBe('exited_ok');
    const again = await sb.dx(['restart', 'bd-done'], bug);
    expect(again.code).toBe(1);
    expect((await sb.dxJson(['check', 'bd-done'], CheckOutputSchema)).json).toMatchObject({
      state: 'exited_ok',
      reason_code: 'process_exit',
    });
  });

  it('a restart that would be refused (policy, disk, plugin) leaves the running instance running', async () => {
    expect((await sb.dx(start('--beads', 'bd-live'))).code).toBe(0);
    const check = async () => (await sb.dxJson(['check', 'bd-live'], CheckOutputSchema)).json;
    const before = await waitFor(async () => ((await check()).state === 'healthy' ? check() : undefined), 'running');
    // a disk already short of the policy's minimum
    const short = path.join(sb.dir, 'wants-more-room.yaml');
    fs.writeFileSync(short, 'limits:\n  min_free_mb: 1000000000\n');
    expectRefusal(await sb.dx(['restart', 'bd-live', '--policy', short]), 1, 'disk_low');
    // a plugin whose launch the watcher could not run (in this environment)
    expectRefusal(
      await sb.dx(['restart', 'bd-live'], { env: { FAKE_PLUGIN_BUG: 'launch-bad-args' } }),
      1,
      'provider_launch_invalid',
    );
    // the policy changed since the start: the job's worktree is now a canonical repository
    const policy = path.join(sb.dir, 'forbids-the-worktree.yaml');
    fs.writeFileSync(policy, `worktrees:\n  forbidden_repos: [${JSON.stringify(wt)}]\n`);
    expectRefusal(await sb.dx(['restart', 'bd-live', '--policy', policy]), 22, 'canonical_worktree_forbidden');
    expect(await check()).toMatchObject({
      state: 'healthy',
      outcome_state: null,
      run_instance: before.run_instance,
      pid: before.pid,
      retries: 0,
    });
  });

  it('refuses an unreadable prompt file with exit 1', async () => {
    const file = sb.prompt({ steps: [] });
    fs.chmodSync(file, 0o000);
    const r = await sb.dx(['start', '--beads', 'bd-1', '--provider', 'fake', '--prompt-file', file, '--worktree', wt], {
      wrap: WITHOUT_DAC_OVERRIDE,
    });
    expectRefusal(r, 1, 'prompt_file_unreadable', 'EACCES');
  });

  it('refuses an unknown provider with exit 20 and lists the known ones', async () => {
    const r = await sb.dx([
      'start',
      '--beads',
      'bd-1',
      '--provider',
      'nosuch',
      '--prompt-file',
      prompt,
      '--worktree',
      wt,
    ]);
    expectRefusal(r, 20, 'provider_not_found', /unknown provider "nosuch" \(available: .*fake/);
  });

  it('refuses worktrees outside the allowed prefixes, including by symlink, ".." and prefix look-alikes (exit 22)', async () => {
    const outside = fs.mkdtempSync(path.join(sb.dir, 'outside-'));
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--worktree', outside)),
      22,
      'worktree_outside_allowed_prefixes',
      'outside the allowed prefixes',
    );
    const link = path.join(sb.agents, 'sneaky');
    fs.symlinkSync(outside, link);
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--worktree', link)),
      22,
      'worktree_outside_allowed_prefixes',
      `resolves to ${outside}`,
    );
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--worktree', `${sb.agents}/../${path.basename(outside)}`)),
      22,
      'worktree_outside_allowed_prefixes',
    );
    const lookalike = `${sb.agents}X`;
    fs.mkdirSync(lookalike);
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--worktree', lookalike)),
      22,
      'worktree_outside_allowed_prefixes',
    );
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--worktree', path.join(sb.agents, 'missing'))),
      22,
      'worktree_missing',
      'does not exist',
    );
    // no worktree given and cwd is not a git worktree
    expectRefusal(
      await sb.dx(['start', '--beads', 'bd-1', '--provider', 'fake', '--prompt-file', prompt], { cwd: outside }),
      22,
      'worktree_missing',
    );
  });

  it('refuses a canonical repo and anything below it, even inside an allowed prefix (exit 22)', async () => {
    const canonical = path.join(sb.agents, 'agent-skills');
    fs.mkdirSync(path.join(canonical, 'sub'), { recursive: true });
    const policy = path.join(sb.dir, 'policy.yaml');
    fs.writeFileSync(policy, `worktrees:\n  forbidden_repos:\n    - ${canonical}\n`);
    for (const target of [canonical, path.join(canonical, 'sub')]) {
      const r = await sb.dx(start('--beads', 'bd-1', '--worktree', target, '--policy', policy));
      expectRefusal(r, 22, 'canonical_worktree_forbidden', 'dx-worktree create');
    }
    // the default policy forbids ~/agent-skills
    const homeCanonical = path.join(sb.env.HOME, 'agent-skills');
    fs.mkdirSync(homeCanonical);
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--worktree', homeCanonical)),
      22,
      'canonical_worktree_forbidden',
    );
  });

  it('refuses an unsafe state root: symlink, world-writable, owned by another user (exit 22)', async () => {
    const real = fs.mkdtempSync(path.join(sb.dir, 'real-state-'));
    const link = path.join(sb.dir, 'state-link');
    fs.symlinkSync(real, link);
    expectRefusal(await sb.dx(['status'], { env: { DX_RUNNER_STATE_DIR: link } }), 22, 'state_root_symlink');
    const open = fs.mkdtempSync(path.join(sb.dir, 'open-state-'));
    fs.chmodSync(open, 0o777);
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1'), { env: { DX_RUNNER_STATE_DIR: open } }),
      22,
      'state_root_insecure_permissions',
      'mode 777',
    );
    const foreign = fs.mkdtempSync(path.join(sb.dir, 'foreign-state-'));
    if (process.getuid?.() === 0) {
      fs.chownSync(foreign, 65534, 65534);
      expectRefusal(
        await sb.dx(['status'], { env: { DX_RUNNER_STATE_DIR: foreign } }),
        22,
        'state_root_foreign_owner',
        'owned by uid 65534',
      );
    }
    expect(fs.readdirSync(open)).toEqual([]);
  });

  it('refuses a state root another host claimed (a shared home): exit 22, its owner named, nothing written', async () => {
    const shared = fs.mkdtempSync(path.join(sb.dir, 'shared-state-'));
    const claim =
      'machine_id=0123456789abcdef0123456789abcdef\nhostname=gpu-box-2\nclaimed_at=2026-11-01T00:00:00.000Z\n';
    fs.writeFileSync(path.join(shared, '.host'), claim, { mode: 0o600 });
    // this host's id, whether or not the machine running the tests has one
    const env = { DX_RUNNER_STATE_DIR: shared, DX_RUNNER_HOST_ID: 'e2e-this-host' };
    expectRefusal(await sb.dx(['status'], { env }), 22, 'state_root_other_host', 'belongs to host gpu-box-2');
    expectRefusal(await sb.dx(start('--beads', 'bd-ok'), { env }), 22, 'state_root_other_host');
    const json = await sb.dx(['status', '--json'], { env });
    expect(ErrorOutputSchema.parse(JSON.parse(json.stdout)).error).toMatchObject({
      exit_code: 22,
      reason_code: 'state_root_other_host',
      next_action: 'give_each_host_its_own_state_root',
    });
    expect(fs.readdirSync(shared)).toEqual(['.host']);
    expect(fs.readFileSync(path.join(shared, '.host'), 'utf8')).toBe(claim);
    await waitFor(() => processesOf(shared).length === 0, 'the unused watcher to exit', 5_000);
    // dx-batch's root is claimed the same way
    fs.mkdirSync(path.join(sb.dir, 'batch'), { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(sb.dir, 'batch', '.host'), claim, { mode: 0o600 });
    const batch = await sb.batch(['status', '--wave-id', 'w1', '--json'], {
      env: { DX_RUNNER_HOST_ID: 'e2e-this-host' },
    });
    expect(batch.code, batch.stderr).toBe(22);
    expect(JSON.parse(batch.stdout).error.reason_code).toBe('state_root_other_host');
    // a root this user may only read is read, unclaimed
    const readOnly = fs.mkdtempSync(path.join(sb.dir, 'read-only-state-'));
    fs.chmodSync(readOnly, 0o500);
    const ro = await sb.dx(['status', '--json'], {
      env: { DX_RUNNER_STATE_DIR: readOnly, DX_RUNNER_HOST_ID: 'e2e-this-host' },
      wrap: WITHOUT_DAC_OVERRIDE,
    });
    expect(ro.code, ro.stderr).toBe(0);
    expect(fs.readdirSync(readOnly)).toEqual([]);
    // the sandbox's own root was claimed by this host on first use, and still opens
    expect((await sb.dx(['status'], { env: { DX_RUNNER_HOST_ID: 'e2e-this-host' } })).code).toBe(0);
  });

  it('reports malformed policy YAML with file, line and column (exit 1)', async () => {
    const bad = path.join(sb.dir, 'bad.yaml');
    fs.writeFileSync(bad, 'worktrees:\n  allowed_prefixes: [/tmp/agents\n  forbidden_repos: []\n');
    const r1 = await sb.dx(start('--beads', 'bd-1', '--policy', bad));
    expectRefusal(r1, 1, 'policy_invalid', new RegExp(`${bad}:\\d+:\\d+`));
    fs.writeFileSync(bad, 'version: 1\nworktrees:\n  allowed_prefixs:\n    - /tmp/agents\n');
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--policy', bad)),
      1,
      'policy_invalid',
      `${bad}:3:3: worktrees.allowed_prefixs`,
    );
    fs.writeFileSync(bad, 'defaults:\n  max_parallel: lots\n');
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1', '--policy', bad)),
      1,
      'policy_invalid',
      `${bad}:2:17: defaults.max_parallel`,
    );
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1'), { env: { DX_POLICY_FILE: path.join(sb.dir, 'absent.yaml') } }),
      1,
      'policy_unreadable',
    );
  });

  it('refuses invalid limits in the environment instead of guessing', async () => {
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1'), { env: { DX_RUNNER_MAX_RUNTIME_MINUTES: 'soon' } }),
      1,
      'invalid_env',
      'DX_RUNNER_MAX_RUNTIME_MINUTES',
    );
    expectRefusal(
      await sb.dx(start('--beads', 'bd-1'), { env: { DX_RUNNER_MAX_PARALLEL_FAKE: '0' } }),
      1,
      'invalid_env',
    );
    // decimal numbers only: Number() would read 0x10 as 16 minutes, 1e3 as a thousand
    for (const [name, value] of [
      ['DX_RUNNER_MAX_RUNTIME_MINUTES', '0x10'],
      ['DX_RUNNER_STALL_MINUTES', '1e3'],
      ['DX_RUNNER_MAX_PARALLEL_FAKE', '0x2'],
    ])
      expectRefusal(await sb.dx(start('--beads', 'bd-1'), { env: { [name]: value } }), 1, 'invalid_env', name);
    // the bound of every git call: a gate refuses it too, rather than run git unbounded
    expectRefusal(
      await sb.dx(['scope-gate', '--worktree', wt], { env: { DX_RUNNER_GIT_TIMEOUT_SEC: 'never' } }),
      1,
      'invalid_env',
      'DX_RUNNER_GIT_TIMEOUT_SEC',
    );
    // a relative state root would follow the working directory: cron at / and a shell keep two ledgers
    for (const args of [start('--beads', 'bd-1'), ['status'], ['check', '--beads', 'bd-1']])
      expectRefusal(
        await sb.dx(args, { env: { DX_RUNNER_STATE_DIR: 'state' } }),
        1,
        'invalid_env',
        'DX_RUNNER_STATE_DIR must be an absolute path',
      );
    expect(fs.existsSync(path.join(sb.dir, 'state', 'fake'))).toBe(false);
  });

  it('survives corrupt or truncated state files: names the file, keeps it, keeps the other jobs visible', async () => {
    const other = sb.worktree('bd-other');
    await sb.dx(['start', '--beads', 'bd-other', '--provider', 'fake', '--prompt-file', prompt, '--worktree', other]);
    await sb.dx(sb.fakeStartArgs('bd-trunc', [{ exit: 0 }], wt));
    const outcome = path.join(sb.state, 'fake', 'bd-trunc.outcome');
    await waitFor(() => fs.existsSync(outcome), 'outcome');
    const text = fs.readFileSync(outcome, 'utf8');
    fs.writeFileSync(outcome, text.slice(0, text.indexOf('state=') + 3));
    const check = await sb.dx(['check', '--beads', 'bd-trunc']);
    expect(check.code).toBe(3);
    expect(check.stdout).toContain('state_file_corrupt');
    const json = await sb.dxJson(['status', '--recent', '10'], StatusOutputSchema);
    expect(json.json.jobs.map((j) => [j.beads, j.reason_code])).toContainEqual(['bd-trunc', 'state_file_corrupt']);
    expect(json.json.jobs.map((j) => j.beads)).toContain('bd-other');
    expect(fs.readFileSync(outcome, 'utf8')).toBe(text.slice(0, text.indexOf('state=') + 3));
    fs.writeFileSync(path.join(sb.state, 'fake', 'bd-trunc.meta'), 'this is not key value\n');
    const stop = await sb.dx(['stop', '--beads', 'bd-trunc']);
    expectRefusal(stop, 1, 'state_file_corrupt', 'bd-trunc.meta:1');
  });

  it('a refused start leaves the running job untouched', async () => {
    await sb.dx(start('--beads', 'bd-keep'));
    const log = path.join(sb.state, 'fake', 'bd-keep.log');
    await waitFor(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('hi'), 'log');
    const before = fs.readdirSync(path.join(sb.state, 'fake')).sort();
    const again = await sb.dx(start('--beads', 'bd-keep', '--json'));
    expect(again.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(again.stdout)).error).toMatchObject({
      reason_code: 'job_already_running',
      exit_code: 1,
    });
    expect(fs.readdirSync(path.join(sb.state, 'fake')).sort()).toEqual(before);
    expect((await sb.dx(['check', '--beads', 'bd-keep'])).code).toBe(0);
  });

  it('answers an unknown job with exit 1 and a JSON error object under --json', async () => {
    const r = await sb.dx(['check', '--beads', 'bd-unknown', '--json']);
    expect(r.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(r.stdout)).error).toMatchObject({
      reason_code: 'job_not_found',
      next_action: 'verify_the_beads_id_or_start_the_job',
      next_action_text: 'No such job: verify the beads id, or start the job.',
    });
    const usage = await sb.dx(['check', '--json']);
    expect(usage.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(usage.stdout)).error.reason_code).toBe('usage');
  });
});

describe('flag and argument errors', () => {
  it.each([
    [['start'], /^Error: Missing required flag beads; see --help \(reason_code=usage\)$/, 'usage'],
    [
      ['status', '--recent', '-3'],
      /^Error: Parsing --recent: Expected an integer greater than or equal to 0 but received: -3; see --help \(reason_code=invalid_flag\)$/,
      'invalid_flag',
    ],
    [
      ['report', '--beads', 'x', '--format', 'xml'],
      /^Error: Expected --format=xml to be one of: json, markdown; see --help/,
      'invalid_flag',
    ],
    [['status', '--bogus'], /^Error: Nonexistent flag: --bogus; see --help/, 'usage'],
    [
      ['check', '--beads', 'x', '--stall-minutes', '0'],
      /^Error: Parsing --stall-minutes: expected a positive number, got "0"; see --help \(reason_code=invalid_flag\)$/,
      'invalid_flag',
    ],
    [['check', '--beads', 'x', '--stall-minutes', '-5'], /Parsing --stall-minutes/, 'invalid_flag'],
    [['check', '--beads', 'x', '--stall-minutes', 'abc'], /expected a positive number, got "abc"/, 'invalid_flag'],
    [['watchdog', '--interval', '0', '--once'], /Parsing --interval/, 'invalid_flag'],
    [['watchdog', '--max-retries', '-1', '--once'], /Parsing --max-retries/, 'invalid_flag'],
    [['logs', '--beads', 'x', '--lines', '0'], /Parsing --lines/, 'invalid_flag'],
    [
      ['bogus-command'],
      /^Error: unknown command "bogus-command"; see dx-runner --help \(reason_code=unknown_command\)$/,
      'unknown_command',
    ],
  ])('dx-runner %j: one line, the usage exit code, a reason code', async (args, message, reason) => {
    const r = await sb.dx(args);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toMatch(message);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    const json = await sb.dx([...args, '--json']);
    expect(json.code).toBe(1);
    const { error } = ErrorOutputSchema.parse(JSON.parse(json.stdout));
    expect(error).toMatchObject({ exit_code: 1, reason_code: reason });
    expect(error.message).not.toContain('\n');
  });
});
