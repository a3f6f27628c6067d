/**
 * The forms operators already type: positional beads ids, `kill`, `wait`, the mixed wave of two providers
 * under the shipped policy's caps, the nightly smoke test's argv verbatim, `nightly-dispatch smoke`, and the
 * legacy `cc-glm-job.sh` name.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckOutputSchema,
  ErrorOutputSchema,
  FinalizeOutputSchema,
  JobReportSchema,
  LogsOutputSchema,
  StopOutputSchema,
  WaitOutputSchema,
} from '@dx/core';
import { SmokeOutputSchema } from '@dx/nightly-dispatch';
import { CLI_BIN, NIGHTLY_BIN, REPO_ROOT } from '../helpers/paths.js';
import { openPidNamespace } from '../helpers/pid-namespace.js';
import { createSandbox, processExists, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { startWebhook, type Hook } from '../helpers/webhook.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const hang = () => sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
const done = (exit = 0, write = true) =>
  sb.prompt({
    steps: [
      { message: 'working' },
      ...(write ? [{ write: 'out.txt', content: 'x\n' }] : []),
      { result: 'done' },
      { exit },
    ],
  });
const start = (beads: string, prompt: string, env: Record<string, string> = {}) =>
  sb.dx(['start', '--beads', beads, '--provider', 'fake', '--prompt-file', prompt, '--worktree', sb.worktree(beads)], {
    env,
  });

describe('positional beads ids and kill', () => {
  it('check, logs, report, finalize, restart, stop and kill take the id as an argument; --beads still works', async () => {
    expect((await start('bd-pos', hang())).code).toBe(0);
    const check = await sb.dxJson(['check', 'bd-pos'], CheckOutputSchema);
    expect(check.json.beads).toBe('bd-pos');
    expect((await sb.dxJson(['check', '--beads', 'bd-pos'], CheckOutputSchema)).json.beads).toBe('bd-pos');
    expect((await sb.dxJson(['check', 'bd-pos', '--beads', 'bd-pos'], CheckOutputSchema)).code).toBe(0);
    await waitFor(
      async () => (await sb.dxJson(['logs', 'bd-pos'], LogsOutputSchema)).json.lines.some((l) => l.includes('working')),
      'log line',
    );
    expect((await sb.dxJson(['report', 'bd-pos'], JobReportSchema)).json.beads).toBe('bd-pos');
    const restarted = await sb.dx(['restart', 'bd-pos', '--json']);
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(JSON.parse(restarted.stdout).retries).toBe(1);
    const stop = await sb.dxJson(['stop', 'bd-pos'], StopOutputSchema);
    expect(stop.json).toMatchObject({ stopped: true, reason_code: 'manual_stop' });

    expect((await start('bd-kill', hang())).code).toBe(0);
    const kill = await sb.dxJson(['kill', 'bd-kill'], StopOutputSchema);
    expect(kill.json).toMatchObject({ beads: 'bd-kill', stopped: true, reason_code: 'manual_stop' });
    const fin = await sb.dxJson(['finalize', 'bd-kill', '--reason', 'again'], FinalizeOutputSchema);
    expect(fin.json).toMatchObject({ finalized: false, reason_code: 'manual_stop' });
  });

  it('two different ids (argument and --beads) are a usage error; a bad positional id is refused like a bad flag', async () => {
    const both = await sb.dx(['check', 'bd-a', '--beads', 'bd-b']);
    expect(both.code).toBe(1);
    expect(both.stderr.trim().split('\n')).toEqual([
      'Error: two different beads ids: bd-a (argument) and bd-b (--beads) (reason_code=beads_id_conflict)',
    ]);
    const json = await sb.dx(['stop', 'bd-a', '--beads', 'bd-b', '--json']);
    expect(ErrorOutputSchema.parse(JSON.parse(json.stdout)).error).toMatchObject({
      exit_code: 1,
      reason_code: 'beads_id_conflict',
    });
    const bad = await sb.dx(['check', '../x', '--json']);
    expect(bad.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(bad.stdout)).error.reason_code).toBe('invalid_beads_id');
    const none = await sb.dx(['logs']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('missing beads id');
  });
});

describe('wait', () => {
  it('is woken by the outcome being written and exits with check’s code for every terminal state', async () => {
    // a slow poll of an hour: only the file-system notification can end these waits
    const env = { DX_RUNNER_WAIT_POLL_SEC: '3600' };
    const cases: Array<[string, string, number, string]> = [
      ['bd-w-ok', done(0), 0, 'exited_ok'],
      ['bd-w-err', done(4), 3, 'exited_err'],
      ['bd-w-noop', done(0, false), 23, 'no_op'],
    ];
    for (const [beads, prompt, code, state] of cases) {
      expect(
        (
          await start(
            beads,
            sb.prompt({
              steps: [{ message: 'soon' }, { sleep: 1500 }, ...JSON.parse(fs.readFileSync(prompt, 'utf8')).steps],
            }),
          )
        ).code,
      ).toBe(0);
      const r = await sb.dx(['wait', beads, '--json'], { env, timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(code);
      expect(WaitOutputSchema.parse(JSON.parse(r.stdout))).toMatchObject({ beads, state, timed_out: false });
    }
  });

  it('--timeout gives up with 124 while the job keeps running; the slow poll notices a watcher that died', async () => {
    // it signals a pid check reported: every command of the test runs in a private pid namespace
    const ns = openPidNamespace(sb);
    try {
      const started = await ns.dx([
        'start',
        '--beads',
        'bd-w-long',
        '--provider',
        'fake',
        '--prompt-file',
        hang(),
        '--worktree',
        sb.worktree('bd-w-long'),
      ]);
      expect(started.code).toBe(0);
      const r = await ns.dx(['wait', 'bd-w-long', '--timeout', '1', '--json']);
      expect(r.code).toBe(124);
      expect(WaitOutputSchema.parse(JSON.parse(r.stdout))).toMatchObject({
        timed_out: true,
        state: expect.stringMatching(/launching|healthy/),
      });
      const view = CheckOutputSchema.parse(JSON.parse((await ns.dx(['check', 'bd-w-long', '--json'])).stdout));
      expect(view.outcome_state).toBeNull();

      // the watcher dies without writing anything: no file event, the poll finds watcher_lost
      const waiting = ns.dx(['wait', 'bd-w-long'], { env: { DX_RUNNER_WAIT_POLL_SEC: '0.5' }, timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 500));
      await ns.signal(view.watcher_pid!, 'SIGKILL');
      const lost = await waiting;
      expect(lost.code).toBe(3);
      expect(lost.stdout).toContain('watcher_lost');
      await ns.dx(['prune']);
    } finally {
      await ns.close();
    }
  });

  it('ends promptly on SIGTERM and leaves the job running', async () => {
    expect((await start('bd-w-sig', hang())).code).toBe(0);
    const child = spawn(process.execPath, [CLI_BIN, 'wait', 'bd-w-sig'], {
      env: sb.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(code).toBe(130);
    expect(out).toContain('keeps running');
    expect((await sb.dx(['check', 'bd-w-sig'])).code).toBe(0);
  });
});

describe('the mixed wave of two providers under the shipped policy', () => {
  it('2 OpenCode + 2 Gemini jobs start at once; a third Gemini job is refused by the default cap of 2', async () => {
    const sleeper = path.join(sb.dir, 'agent-cli');
    fs.writeFileSync(sleeper, '#!/bin/sh\nexec sleep 60\n', { mode: 0o755 });
    const env = { OPENCODE_BIN: sleeper, GEMINI_BIN: sleeper, ZHIPU_API_KEY: 'fake-key', GEMINI_API_KEY: 'fake-key' };
    const launch = (provider: string, beads: string) =>
      sb.dx(
        [
          'start',
          '--beads',
          beads,
          '--provider',
          provider,
          '--prompt-file',
          sb.prompt('Do the task.'),
          '--worktree',
          sb.worktree(beads),
        ],
        { env },
      );
    const results = await Promise.all([
      launch('opencode', 'bd-mx-o1'),
      launch('opencode', 'bd-mx-o2'),
      launch('gemini', 'bd-mx-g1'),
      launch('gemini', 'bd-mx-g2'),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const third = await launch('gemini', 'bd-mx-g3');
    expect(third.code).toBe(1);
    expect(third.stderr).toContain('reason_code=provider_concurrency_cap_exceeded');
    for (const beads of ['bd-mx-o1', 'bd-mx-o2', 'bd-mx-g1', 'bd-mx-g2']) await sb.dx(['stop', beads]);
  });
});

const smokeEnabled = process.env.CI === 'true' || process.env.RUN_SMOKE === '1';

describe.skipIf(!smokeEnabled)('The real-CLI smoke test, verbatim (CI, or RUN_SMOKE=1)', () => {
  it('preflight per provider, a dry-run start, check and kill of a throwaway id, as a nightly smoke script calls them', () => {
    const wt = sb.worktree('smoke');
    // `dx-runner` by name, found on PATH, exactly as a cron script's subprocess calls run it
    const env = { ...sb.env, PATH: `${path.join(REPO_ROOT, 'node_modules', '.bin')}:${sb.env.PATH}` };
    const run = (argv: string[], timeout: number) =>
      spawnSync(argv[0], argv.slice(1), { env, cwd: wt, encoding: 'utf8', timeout: timeout * 1000 });
    for (const provider of ['opencode', 'cc-glm', 'gemini']) {
      const result = run(['dx-runner', 'preflight', `--provider=${provider}`], 30);
      // older scripts accept 0 (available) or 1 (unavailable); dx-runner documents 21/25 for unavailable
      expect([0, 21, 25], `${provider}: ${result.stderr}`).toContain(result.status);
    }
    const beadsId = `smoke-test-${Math.random().toString(16).slice(2, 10)}`;
    try {
      const startResult = run(['dx-runner', 'start', `--beads=${beadsId}`, '--provider=cc-glm', '--dry-run'], 10);
      expect(startResult.status, startResult.stderr).toBe(0);
      const check = run(['dx-runner', 'check', beadsId], 10);
      expect([0, 1], check.stderr).toContain(check.status);
    } finally {
      run(['dx-runner', 'kill', beadsId], 10);
    }
  });
});

describe('nightly-dispatch smoke', () => {
  let hook: Hook;
  beforeAll(async () => {
    hook = await startWebhook();
  });
  afterAll(async () => {
    await hook.close();
  });

  it('passes against the built dx-runner and alerts once when a check fails', async () => {
    // the throwaway worktree goes under the policy's first prefix: the sandbox's, not the host's /tmp/agents
    const policy = path.join(sb.dir, 'smoke-policy.yaml');
    fs.writeFileSync(policy, `worktrees:\n  allowed_prefixes: [${sb.agents}]\n`);
    const env = {
      NIGHTLY_DISPATCH_DIR: path.join(sb.dir, 'nightly'),
      SLACK_WEBHOOK_URL: hook.url,
      DX_POLICY_FILE: policy,
    };
    const cwds = path.join(sb.dir, 'cwds');
    const wrapper = path.join(sb.dir, 'dx-runner');
    fs.writeFileSync(wrapper, `#!/bin/sh\npwd >> '${cwds}'\nexec '${process.execPath}' '${CLI_BIN}' "$@"\n`, {
      mode: 0o755,
    });
    const ok = await sb.bin(NIGHTLY_BIN, ['smoke', '--json'], { env: { ...env, DX_RUNNER_BIN: wrapper } });
    const result = SmokeOutputSchema.parse(JSON.parse(ok.stdout));
    expect(ok.code, JSON.stringify(result.checks)).toBe(0);
    expect(result.checks.map((c) => c.argv.slice(0, 2).join(' '))).toEqual([
      'dx-runner preflight',
      'dx-runner preflight',
      'dx-runner preflight',
      'dx-runner start',
      'dx-runner check',
      'dx-runner kill',
    ]);
    expect(hook.bodies).toEqual([]);
    const ranIn = [...new Set(fs.readFileSync(cwds, 'utf8').trim().split('\n'))];
    expect(ranIn).toEqual([expect.stringMatching(new RegExp(`^${sb.agents}/\\.nightly-smoke-[0-9a-f]{8}/repo$`))]);
    expect(fs.existsSync(ranIn[0])).toBe(false);
    expect(fs.readdirSync(sb.agents).filter((d) => d.startsWith('.nightly-smoke'))).toEqual([]);

    const broken = path.join(sb.dir, 'broken-dx-runner');
    fs.writeFileSync(
      broken,
      `#!/bin/sh\nif [ "$1" = start ]; then echo 'Error: boom (reason_code=broken)' >&2; exit 9; fi\nexec '${process.execPath}' '${CLI_BIN}' "$@"\n`,
      { mode: 0o755 },
    );
    const bad = await sb.bin(NIGHTLY_BIN, ['smoke', '--json'], { env: { ...env, DX_RUNNER_BIN: broken } });
    expect(bad.code).toBe(1);
    const failed = SmokeOutputSchema.parse(JSON.parse(bad.stdout));
    expect(failed.checks.filter((c) => !c.ok).map((c) => [c.name, c.exit_code])).toEqual([['dry-run start', 9]]);
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0].text).toMatch(/smoke test FAILED[\s\S]*dry-run start: exit 9 \(expected 0\)/);
  });
});

describe('cc-glm-job.sh', () => {
  it('the old name is a bin of the same entry point', () => {
    const link = path.join(REPO_ROOT, 'node_modules', '.bin', 'cc-glm-job.sh');
    expect(fs.existsSync(link)).toBe(true);
    const r = spawnSync(link, ['--help'], { env: { ...sb.env, DX_DISPATCH_NO_DEPRECATION: '1' }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('cc-glm-job');
    expect(processExists(process.pid)).toBe(true);
  });
});
