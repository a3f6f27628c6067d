/**
 * The legacy entry points, end to end: dx-dispatch and cc-glm-job run the built dx-runner, which runs
 * the fake agent (and, for cc-glm-job, the real Claude Code CLI against the fake model server).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CheckOutputSchema, PreflightOutputSchema, StatusOutputSchema } from '@dx/core';
import { startFakeModelServer } from '../fixtures/fake-model-server.mjs';
import { CC_GLM_JOB_BIN, DISPATCH_BIN } from '../helpers/paths.js';
import { createSandbox, git, processExists, waitFor, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const WRITE = (file: string) =>
  JSON.stringify({
    steps: [{ message: 'working' }, { write: file, content: 'shim\n' }, { result: 'done' }, { exit: 0 }],
  });
const HANG = JSON.stringify({ steps: [{ message: 'waiting' }, { hang: true }] });

const dispatch = (args: string[], env: Record<string, string | undefined> = {}) => sb.bin(DISPATCH_BIN, args, { env });
const ccglm = (args: string[], env: Record<string, string | undefined> = {}) =>
  sb.bin(CC_GLM_JOB_BIN, args, { env: { CC_GLM_JOB_PROVIDER: 'fake', ...env } });
const deprecations = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('[DEPRECATION]'));
const check = async (beads: string) =>
  CheckOutputSchema.parse(JSON.parse((await sb.dx(['check', '--beads', beads, '--json'])).stdout));
const ended = (beads: string) =>
  waitFor(async () => ((await check(beads)).outcome_state ? check(beads) : undefined), `${beads} ended`);
const leftoverPrompts = () => fs.readdirSync(sb.dir).filter((f) => f.startsWith('dx-dispatch'));

beforeAll(() => {
  sb = createSandbox();
  const policy = path.join(sb.dir, 'policy.yaml');
  fs.writeFileSync(policy, 'dispatch:\n  hosts:\n    fakehost: fake\n');
  sb.env.DX_POLICY_FILE = policy;
});
afterAll(async () => {
  await sb.cleanup();
});

describe('dx-dispatch (legacy surface over dx-runner)', () => {
  it('dispatches "<vm> <task>" through dx-runner start with one deprecation line, a private prompt file, and --wait', async () => {
    const wt = sb.worktree('dd-1');
    const r = await dispatch([
      'fakehost',
      WRITE('from-dispatch.txt'),
      '--beads',
      'dd-1',
      '--worktree',
      wt,
      '--slack',
      '--session',
      's-1',
      '--wait',
      '--timeout',
      '60',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(deprecations(r.stderr)).toEqual([
      `[DEPRECATION] dx-dispatch is a compatibility shim; use: dx-runner start --provider fake --beads dd-1 --prompt-file '<prompt-file>' --worktree ${wt}`,
    ]);
    expect(r.stderr).toMatch(/^\[dx-dispatch\] ignored \(no dx-runner counterpart\): --session .*; --slack /m);
    expect(r.stderr).toContain('dd-1: exited_ok (process_exit)');
    expect(fs.readFileSync(path.join(wt, 'from-dispatch.txt'), 'utf8')).toBe('shim\n');
    const job = await check('dd-1');
    expect(job.provider).toBe('fake');
    // the prompt file is gone, and was never at the old predictable path
    expect(leftoverPrompts()).toEqual([]);
    expect(fs.existsSync('/tmp/dx-dispatch-dd-1.prompt')).toBe(false);
  });

  it('maps --repo to the dx-worktree layout and returns dx-runner exit codes for --wait (3 for a failed job)', async () => {
    sb.worktree('dd-2');
    const failing = JSON.stringify({
      steps: [{ error: { class: 'crashed', reason: 'fake_crash', text: 'boom' } }, { exit: 7 }],
    });
    const r = await dispatch(['fakehost', failing, '--beads', 'dd-2', '--repo', 'repo', '--wait', '--timeout', '60'], {
      DX_DISPATCH_NO_DEPRECATION: '1',
    });
    expect(r.code, r.stderr).toBe(3);
    expect(deprecations(r.stderr)).toEqual([]);
    expect(r.stderr).toContain('dd-2: exited_err (fake_crash)');
    expect((await check('dd-2')).worktree).toBe(path.join(sb.agents, 'dd-2', 'repo'));
  });

  it('--wait gives up at --timeout with 124 and leaves the job running; --abort stops it', async () => {
    const wt = sb.worktree('dd-3');
    const r = await dispatch(['fakehost', HANG, '--beads', 'dd-3', '--worktree', wt, '--wait', '--timeout', '2']);
    expect(r.code).toBe(124);
    expect(r.stderr).toMatch(/dd-3 still running after --timeout 2s.*reason_code=wait_timeout/);
    expect((await check('dd-3')).state).toMatch(/launching|healthy/);
    const abort = await dispatch(['--abort', 'dd-3']);
    expect(abort.code, abort.stderr).toBe(0);
    expect(deprecations(abort.stderr)).toEqual([
      '[DEPRECATION] dx-dispatch is a compatibility shim; use: dx-runner stop --beads dd-3',
    ]);
    expect((await ended('dd-3')).state).toBe('exited_err');
  });

  it('--list and --status forward to status / preflight of the mapped provider', async () => {
    const list = await dispatch(['--list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/no running jobs; \d+ finished|beads/);
    expect(deprecations(list.stderr)).toEqual([
      '[DEPRECATION] dx-dispatch is a compatibility shim; use: dx-runner status',
    ]);
    const json = await dispatch(['--status', '--json']);
    expect(StatusOutputSchema.parse(JSON.parse(json.stdout)).jobs).toBeInstanceOf(Array);
    const healthy = await dispatch(['--status', 'fakehost', '--json']);
    expect(healthy.code).toBe(0);
    expect(PreflightOutputSchema.parse(JSON.parse(healthy.stdout)).provider).toBe('fake');
    const down = await dispatch(['--status', 'fakehost'], { FAKE_PREFLIGHT_FAIL: 'fake' });
    expect(down.code).toBe(21);
    // an unmapped host is OpenCode, as in the legacy tool
    const host = await dispatch(['--status', 'epyc6', '--json'], { PATH: '/usr/bin:/bin' });
    expect(PreflightOutputSchema.parse(JSON.parse(host.stdout)).provider).toBe('opencode');
  });

  it('refuses bad input in one line with exit 2 and leaves no prompt file', async () => {
    for (const args of [
      [],
      ['fakehost'],
      ['fakehost', 'task', '--beads', '../x'],
      ['fakehost', 'task', '--bogus'],
      ['fakehost', 'task', '--jules'],
      ['fakehost', 'task', '--timeout', 'soon'],
      ['fakehost', 'task', '--beads'],
      ['--status', 'fakehost', 'other'],
      ['--list', 'fakehost'],
      ['--abort', 'bd-1', 'bd-2'],
    ]) {
      const r = await dispatch(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(leftoverPrompts()).toEqual([]);
    const help = await dispatch(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/dx-runner start --provider/);
  });
  it('"-" reads the task from stdin as dx-runner reads a prompt: bounded, and refused in one line when unfit', () => {
    const fromStdin = (stdin: string | number) =>
      spawnSync(process.execPath, [DISPATCH_BIN, 'fakehost', '-', '--beads', 'bd-stdin', '--dry-run'], {
        env: sb.env,
        cwd: sb.dir,
        encoding: 'utf8',
        ...(typeof stdin === 'number' ? { stdio: [stdin, 'pipe', 'pipe'] } : { input: stdin }),
      });
    const dir = fs.openSync(sb.dir, 'r');
    try {
      for (const [stdin, reason] of [
        [dir, 'prompt_file_unreadable'],
        [' \n\t\n', 'prompt_file_empty'],
        // refused while reading, before 2 MB reach a prompt file or dx-runner
        ['x'.repeat(2 * 1024 * 1024), 'prompt_file_too_large'],
      ] as const) {
        const r = fromStdin(stdin);
        expect(r.status, r.stderr).toBe(1);
        expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining(`reason_code=${reason}`)]);
      }
    } finally {
      fs.closeSync(dir);
    }
    expect(leftoverPrompts()).toEqual([]);
  });
});

describe('cc-glm-job (legacy surface over dx-runner --provider cc-glm)', () => {
  it('start/status/check/health/tail/restart/stop work on one job, and dx-runner sees and controls it', async () => {
    const wt = sb.worktree('cj-1');
    const start = await ccglm([
      'start',
      '--beads',
      'cj-1',
      '--prompt-file',
      sb.prompt(HANG),
      '--worktree',
      wt,
      '--log-dir',
      '/tmp/cc-glm',
      '--pty',
    ]);
    expect(start.code, start.stderr).toBe(0);
    expect(deprecations(start.stderr)).toHaveLength(1);
    expect(deprecations(start.stderr)[0]).toMatch(
      /use: dx-runner start --provider fake --beads cj-1 --prompt-file \S+ --worktree /,
    );
    expect(start.stderr).toMatch(/ignored \(no dx-runner counterpart\): --log-dir \(.*\); --pty \(/);
    // visible through dx-runner
    await waitFor(async () => (await check('cj-1')).state === 'healthy', 'cj-1 healthy');

    const status = await ccglm(['status', '--mutations', '--json']);
    expect(StatusOutputSchema.parse(JSON.parse(status.stdout)).jobs.map((j) => j.beads)).toContain('cj-1');
    const chk = await ccglm(['check', '--beads', 'cj-1', '--stall-minutes', '30', '--json']);
    expect(chk.code).toBe(0);
    expect(CheckOutputSchema.parse(JSON.parse(chk.stdout)).state).toBe('healthy');
    const health = await ccglm(['health', '--beads', 'cj-1']);
    expect(health.stdout).toContain('healthy');
    const tail = await ccglm(['tail', '--beads', 'cj-1', '--lines', '5']);
    expect(tail.code).toBe(0);
    expect(tail.stdout).toContain('waiting');
    const restart = await ccglm(['restart', '--beads', 'cj-1', '--preserve-contract']);
    expect(restart.code, restart.stderr).toBe(0);
    await waitFor(async () => (await check('cj-1')).retries === 1, 'restart counted');
    // and the reverse: stopped through dx-runner, seen through cc-glm-job
    const pid = (await check('cj-1')).pid!;
    expect((await sb.dx(['stop', '--beads', 'cj-1'])).code).toBe(0);
    await waitFor(() => !processExists(pid), 'agent gone');
    const after = await ccglm(['check', '--beads', 'cj-1']);
    expect(after.code).toBe(3);
    expect(after.stdout).toContain('exited_err');
  });

  it('stop through cc-glm-job ends a job started through dx-runner', async () => {
    const wt = sb.worktree('cj-2');
    expect(
      (
        await sb.dx([
          'start',
          '--beads',
          'cj-2',
          '--provider',
          'fake',
          '--prompt-file',
          sb.prompt(HANG),
          '--worktree',
          wt,
        ])
      ).code,
    ).toBe(0);
    const stop = await ccglm(['stop', '--beads', 'cj-2']);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await ended('cj-2')).state).toBe('exited_err');
  });

  it('preflight, watchdog and the gates forward with their flags', async () => {
    expect((await ccglm(['preflight'])).code).toBe(0);
    expect((await ccglm(['preflight'], { FAKE_PREFLIGHT_FAIL: 'fake' })).code).toBe(21);
    const once = await ccglm(['watchdog', '--once', '--max-retries', '1', '--stall-minutes', '30', '--json']);
    expect(once.code, once.stderr).toBe(0);
    const observe = await ccglm(['watchdog', '--observe-only', '--interval', '5']);
    expect(observe.code).toBe(0);
    expect(deprecations(observe.stderr)).toEqual([
      '[DEPRECATION] cc-glm-job is a compatibility shim; use: dx-runner status',
    ]);
    expect(observe.stderr).toContain('--interval (no effect with --observe-only)');

    const wt = sb.worktree('cj-gates');
    fs.writeFileSync(path.join(wt, 'a.txt'), 'a\n');
    git(wt, 'add', '-A');
    git(wt, 'commit', '-q', '-m', 'feat: a\n\nFeature-Key: cj-gates');
    const head = git(wt, 'rev-parse', 'HEAD');
    const base = git(wt, 'rev-parse', 'HEAD~1');
    const baseline = await ccglm(['baseline-gate', '--worktree', wt, '--required-baseline', base, '--json']);
    expect(baseline.code, baseline.stderr).toBe(0);
    expect(JSON.parse(baseline.stdout).reason_code).toBe('baseline_ok');
    const integrity = await ccglm([
      'integrity-gate',
      '--worktree',
      wt,
      '--reported-commit',
      head,
      '--base',
      base,
      '--json',
    ]);
    expect(JSON.parse(integrity.stdout).reason_code).toBe('integrity_ok');
    const fk = await ccglm([
      'feature-key-gate',
      '--worktree',
      wt,
      '--feature-key',
      'cj-gates',
      '--base',
      base,
      '--json',
    ]);
    expect(JSON.parse(fk.stdout).reason_code).toBe('feature_key_ok');
    const bad = await ccglm(['baseline-gate', '--worktree', wt, '--required-baseline', 'nothex']);
    expect(bad.code).not.toBe(0);
  });

  it('accepts and explains set-override and --no-ansi; refuses unknown commands and flags in one line', async () => {
    const so = await ccglm(['set-override', 'model', 'glm-4.7']);
    expect(so.code).toBe(0);
    expect(so.stderr).toMatch(/set-override \(overrides live in the environment/);
    const noAnsi = await ccglm(['status', '--no-ansi']);
    expect(noAnsi.code).toBe(0);
    expect(noAnsi.stderr).toContain('--no-ansi (dx-runner prints no colour codes)');
    for (const args of [
      ['frobnicate'],
      ['start', '--beads', 'x'],
      ['check'],
      ['stop', '--beads', 'x', '--force'],
      [],
    ]) {
      const r = await ccglm(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('defaults to the cc-glm provider', async () => {
    const r = await sb.bin(CC_GLM_JOB_BIN, ['preflight', '--json'], {
      env: { PATH: '/usr/bin:/bin', CC_GLM_JOB_PROVIDER: undefined },
    });
    expect(r.code).toBe(21);
    expect(PreflightOutputSchema.parse(JSON.parse(r.stdout))).toMatchObject({
      provider: 'cc-glm',
      reason_code: 'cc_glm_binary_missing',
    });
  });
});

const realBin = inject('realCliBin');
(realBin ? describe : describe.skip)('cc-glm-job with the real Claude Code CLI', () => {
  let server: Awaited<ReturnType<typeof startFakeModelServer>>;
  beforeAll(async () => {
    server = await startFakeModelServer();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('runs a job through the cc-glm provider with the old CC_GLM_* environment', async () => {
    const wt = sb.worktree('cj-real');
    const target = path.join(wt, 'from-the-model.txt');
    const env = {
      PATH: `${realBin}:${process.env.PATH}`,
      CC_GLM_JOB_PROVIDER: undefined,
      CC_GLM_AUTH_TOKEN: 'fake-token-for-tests',
      CC_GLM_BASE_URL: server.base(server.toolMode(target)),
      CC_GLM_MODEL: 'glm-4.7',
      DX_RUNNER_MUTATION_POLL_SEC: '0.5',
    };
    const start = await sb.bin(
      CC_GLM_JOB_BIN,
      ['start', '--beads', 'cj-real', '--prompt-file', sb.prompt('Please do the task.'), '--worktree', wt],
      { env },
    );
    expect(start.code, start.stderr).toBe(0);
    const done = await waitFor(
      async () => {
        const r = CheckOutputSchema.parse(
          JSON.parse((await sb.bin(CC_GLM_JOB_BIN, ['check', '--beads', 'cj-real', '--json'], { env })).stdout),
        );
        return r.outcome_state ? r : undefined;
      },
      'cj-real ended',
      60_000,
      250,
    );
    expect(done).toMatchObject({ provider: 'cc-glm', state: 'exited_ok', selected_model: 'glm-4.7' });
    expect(fs.readFileSync(target, 'utf8')).toBe('written through the fake model server\n');
    const report = JSON.parse((await sb.dx(['report', '--beads', 'cj-real', '--json'])).stdout);
    expect(JSON.stringify(report)).not.toContain('fake-token-for-tests');
  });
});
