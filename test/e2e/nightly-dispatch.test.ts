/**
 * nightly-dispatch end to end: the built bin, the bd stub speaking bd's contract, the built dx-runner
 * running the fake agent (fake = "opencode", fake-alt = "cc-glm"), and a Slack webhook on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { NightReportSchema, type NightReport } from '@dx/nightly-dispatch';
import { CheckOutputSchema, jobPaths, parseKv, serializeKv } from '@dx/core';
import { BD_STUB_DIR, CLI_BIN, NIGHTLY_BIN, skewedClockEnv } from '../helpers/paths.js';
import { BD_STUB, createBeadsWorkspace, type BeadsWorkspace } from '../helpers/beads.js';
import {
  createSandbox,
  processExists,
  runCli,
  waitFor,
  WITHOUT_OWNER_OVERRIDE,
  type Sandbox,
} from '../helpers/sandbox.js';
import { startWebhook, type Hook } from '../helpers/webhook.js';
import { writeFullDiskDxRunner } from '../helpers/full-disk.js';
import { startFakeModelServer } from '../fixtures/fake-model-server.mjs';

let sb: Sandbox;
let hook: Hook;
let beadsDir: string;
let nightly: string;
let beads: BeadsWorkspace;
const bd = (...args: string[]) => beads.bd(...args);
const issue = (id: string) => JSON.parse(bd('show', id, '--json'))[0] as { status: string; assignee?: string };

function create(id: string, priority = 1): void {
  beads.create(id, priority);
  sb.worktree(id);
}

async function night(
  args: string[] = [],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stderr: string; stdout: string; report: NightReport }> {
  const r = await sb.bin(NIGHTLY_BIN, ['run', '--json', ...args], { env });
  let report: NightReport;
  try {
    report = NightReportSchema.parse(JSON.parse(r.stdout));
  } catch {
    throw new Error(`not a night report (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  return { ...r, report };
}

const stop = (beads: string) => sb.dx(['stop', '--beads', beads]);

/** A dx-runner that, when `when` holds (a sh test on its arguments), does `action` first: the built one otherwise and after. */
function dxRunnerThat(name: string, when: string, action: string): string {
  const script = path.join(sb.dir, name);
  fs.writeFileSync(
    script,
    `#!/bin/sh\nif ${when}; then ${action}; fi\nexec '${process.execPath}' '${CLI_BIN}' "$@"\n`,
    {
      mode: 0o755,
    },
  );
  return script;
}

/**
 * A nightly run whose whole process group gets `signal` once it has reached what creates `marker`
 * (SIGKILL: killed; SIGTERM: what cron's `timeout` sends); its exit and output.
 */
async function signalledOnceThere(
  marker: string,
  what: string,
  args: string[],
  env: Record<string, string>,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  fs.rmSync(marker, { force: true });
  const run = spawn(process.execPath, [NIGHTLY_BIN, 'run', ...args], {
    env: { ...sb.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  run.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  run.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<number | null>((resolve) => run.on('close', (code) => resolve(code)));
  for (let i = 0; i < 400 && !fs.existsSync(marker); i++) await new Promise((r) => setTimeout(r, 50));
  expect(fs.existsSync(marker), `the run reached ${what}`).toBe(true);
  process.kill(-run.pid!, signal);
  return { code: await done, stdout, stderr };
}
const killedOnceThere = (marker: string, what: string, args: string[], env: Record<string, string>) =>
  signalledOnceThere(marker, what, args, env, 'SIGKILL');

beforeAll(async () => {
  hook = await startWebhook();
});
afterAll(async () => {
  await hook.close();
});

beforeEach(() => {
  sb = createSandbox({ PATH: `${BD_STUB_DIR}:${process.env.PATH}` });
  beads = createBeadsWorkspace(path.join(sb.dir, 'workspace'));
  beadsDir = beads.beadsDir;
  nightly = path.join(sb.dir, 'nightly');
  const policy = path.join(sb.dir, 'policy.yaml');
  // the summary alert is tested on its own; here it would only add to every hook count
  fs.writeFileSync(
    policy,
    `nightly:\n  provider_chain: [fake, fake-alt]\n  ack_timeout_sec: 5\n  alert_on_dispatch_complete: false\n`,
  );
  const hang = path.join(sb.dir, 'hang.json');
  fs.writeFileSync(hang, JSON.stringify({ steps: [{ message: 'working on it' }, { hang: true }] }));
  Object.assign(sb.env, {
    BEADS_DIR: beadsDir,
    NIGHTLY_DISPATCH_DIR: nightly,
    DX_POLICY_FILE: policy,
    SLACK_WEBHOOK_URL: hook.url,
    FAKE_AGENT_DEFAULT_SCRIPT: hang,
  });
  hook.bodies.length = 0;
  hook.status = 200;
});
afterEach(async () => {
  await sb.cleanup();
});

describe('nightly-dispatch run', () => {
  // as root, only without the capabilities that would let it remove or chmod another user's tree anyway
  it.skipIf(process.getuid?.() !== 0)(
    'a daily retention that cannot remove an old job costs the night nothing, and its log names the job',
    async () => {
      const policy = path.join(sb.dir, 'retention-policy.yaml');
      fs.writeFileSync(
        policy,
        'nightly:\n  provider_chain: [fake, fake-alt]\n  alert_on_dispatch_complete: false\nretention:\n  keep_last: 0\n',
      );
      // an old finished job holding a folder another user made (a dx-runner once run with sudo)
      for (const old of ['bd-stuck-old', 'bd-gone-old']) {
        await sb.startFake(old, [{ result: 'ok' }, { exit: 0 }]);
        await waitFor(() => fs.existsSync(jobPaths(sb.state, 'fake', old).outcome), `${old} ended`);
        await waitFor(() => !fs.existsSync(jobPaths(sb.state, 'fake', old).pid), `${old} settled`);
        const file = jobPaths(sb.state, 'fake', old).outcome;
        const kv = parseKv(fs.readFileSync(file, 'utf8'));
        kv.completed_at = new Date(Date.now() - 400 * 86_400_000).toISOString();
        fs.writeFileSync(file, serializeKv(kv));
      }
      const foreign = path.join(jobPaths(sb.state, 'fake', 'bd-stuck-old').home, 'foreign');
      fs.mkdirSync(foreign, { recursive: true });
      fs.writeFileSync(path.join(foreign, 'f'), 'x\n');
      fs.chownSync(foreign, 4242, 4242);
      fs.chmodSync(foreign, 0o555);
      create('bd-tonight', 0);
      const r = await sb.bin(NIGHTLY_BIN, ['run', '--json'], {
        env: { DX_POLICY_FILE: policy },
        wrap: WITHOUT_OWNER_OVERRIDE,
      });
      expect(r.code, r.stderr).toBe(0);
      expect(NightReportSchema.parse(JSON.parse(r.stdout)).counts).toMatchObject({ dispatched: 1 });
      expect(r.stderr).toContain('retention: 0 morning report(s) and 1 finished job(s) removed');
      expect(r.stderr).toMatch(/retention: job bd-stuck-old \(fake\) not removed: EACCES/);
      expect(fs.existsSync(jobPaths(sb.state, 'fake', 'bd-gone-old').meta)).toBe(false);
      fs.chownSync(foreign, 0, 0);
      await stop('bd-tonight');
    },
  );

  it('names a provider of the chain that is not installed, though tonight did not need the fallback', async () => {
    create('bd-typo', 0);
    const policy = path.join(sb.dir, 'typo-policy.yaml');
    fs.writeFileSync(
      policy,
      'nightly:\n  provider_chain: [fake, fake-alt, gemnii]\n  alert_on_dispatch_complete: false\n',
    );
    const r = await night([], { DX_POLICY_FILE: policy });
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.provider).toMatchObject({
      selected: 'fake',
      fallback: false,
      warnings: [
        expect.stringMatching(/^gemnii is not an installed provider \(available: .*\): a fallback to it would fail$/),
      ],
    });
    expect(fs.readFileSync(path.join(nightly, 'reports', 'latest.md'), 'utf8')).toContain(
      '- ⚠ gemnii is not an installed provider',
    );
    await stop('bd-typo');
  });

  it('claims and dispatches ready work through dx-runner, one at a time for the first 48 h, and writes the morning report', async () => {
    create('bd-n1', 0);
    create('bd-n2', 1);
    const r = await night();
    expect(r.code, r.stderr).toBe(0);
    expect(r.report).toMatchObject({
      status: 'ok',
      dry_run: false,
      provider: { selected: 'fake', fallback: false },
      counts: { ready: 2, claimed: 1, dispatched: 1, skipped: 1 },
    });
    expect(r.report.migration.max_parallel).toBe(1);
    expect(r.report.items.map((i) => [i.beads_id, i.action])).toEqual([
      ['bd-n1', 'dispatched'],
      ['bd-n2', 'skipped'],
    ]);
    expect(r.report.items[1].reason).toMatch(/^max_parallel_reached/);
    // claimed in Beads, running under dx-runner with the secure prompt gone
    expect(issue('bd-n1')).toMatchObject({ status: 'in_progress' });
    expect(issue('bd-n2')).toMatchObject({ status: 'open' });
    const job = CheckOutputSchema.parse(JSON.parse((await sb.dx(['check', '--beads', 'bd-n1', '--json'])).stdout));
    expect(job).toMatchObject({ provider: 'fake', worktree: path.join(sb.agents, 'bd-n1', 'repo') });
    expect(fs.readdirSync(sb.dir).filter((f) => f.startsWith('ndisp_'))).toEqual([]);
    // morning report, markdown and JSON
    expect(fs.readFileSync(path.join(nightly, 'reports', 'latest.md'), 'utf8')).toMatch(/\| bd-n1 \| dispatched \|/);
    expect(NightReportSchema.parse(JSON.parse(fs.readFileSync(r.report.report_files.json, 'utf8'))).run_id).toBe(
      r.report.run_id,
    );
    expect(fs.existsSync(path.join(nightly, 'migration-start'))).toBe(true);
    expect(hook.bodies).toEqual([]);

    // the next hour: the nightly job still runs, so no slot is free
    const next = await night();
    expect(next.report.migration.live_jobs).toBe(1);
    expect(next.report.counts.dispatched).toBe(0);
    await stop('bd-n1');
  });

  it('stops a job of an earlier run that stalled (the watchdog leaves it to its owner), frees its slot and says so', async () => {
    create('bd-stuck-night', 0);
    create('bd-next', 1);
    // the agent says one thing, then nothing: stalled a second later
    const first = await night([], { DX_RUNNER_STALL_MINUTES: '0.02' });
    expect(first.report.counts.dispatched, first.stderr).toBe(1);
    await waitFor(async () => {
      const c = await sb.dx(['check', '--beads', 'bd-stuck-night', '--json']);
      return CheckOutputSchema.parse(JSON.parse(c.stdout)).state === 'stalled';
    }, 'the night job stalled');
    // the watchdog reports it and leaves it to nightly-dispatch
    const watchdog = await sb.dx(['watchdog', '--once', '--json']);
    expect(watchdog.stdout).toContain('left_to_owner');
    const next = await night();
    expect(next.code, next.stderr).toBe(0);
    expect(next.report.stopped).toEqual([
      { beads_id: 'bd-stuck-night', host: 'local', reason_code: 'no_progress_events', detail: null },
    ]);
    expect(next.report.migration.live_jobs).toBe(0);
    expect(next.report.items.map((i) => [i.beads_id, i.action])).toEqual([['bd-next', 'dispatched']]);
    const stopped = CheckOutputSchema.parse(
      JSON.parse((await sb.dx(['check', '--beads', 'bd-stuck-night', '--json'])).stdout),
    );
    expect(stopped.outcome_state).not.toBeNull();
    // its issue stays claimed for a person; the report and an alert say so
    expect(issue('bd-stuck-night')).toMatchObject({ status: 'in_progress' });
    expect(fs.readFileSync(path.join(nightly, 'reports', 'latest.md'), 'utf8')).toContain(
      '- bd-stuck-night (local): **no_progress_events**',
    );
    expect(hook.bodies.map((b) => JSON.stringify(b))).toEqual([expect.stringContaining('stalled jobs stopped')]);
    await stop('bd-next');
  });

  it('stops a job of an earlier run still running as a no-op (no event, no change past its grace)', async () => {
    create('bd-silent-night', 0);
    const silent = path.join(sb.dir, 'silent.json');
    fs.writeFileSync(silent, JSON.stringify({ silent: true, steps: [{ hang: true }] }));
    const env = { FAKE_AGENT_DEFAULT_SCRIPT: silent, DX_RUNNER_STARTUP_GRACE_SEC: '1' };
    const real = await night([], env);
    expect(real.report.counts.dispatched, real.stderr).toBe(1);
    await waitFor(async () => {
      const c = CheckOutputSchema.parse(
        JSON.parse((await sb.dx(['check', '--beads', 'bd-silent-night', '--json'])).stdout),
      );
      return c.state === 'no_op' && c.outcome_state === null;
    }, 'a live no-op');
    const next = await night();

    expect(next.report.stopped).toEqual([
      { beads_id: 'bd-silent-night', host: 'local', reason_code: 'no_events_no_mutation', detail: null },
    ]);
    // a night with nothing new to do stops it all the same
    expect(next.report.status).toBe('nothing_to_do');
  });

  it('stops a job of an earlier run whose record is unreadable but whose agent still runs; one that ended is reported', async () => {
    const policy = path.join(sb.dir, 'two.yaml');
    fs.writeFileSync(policy, `nightly:\n  provider_chain: [fake]\n  max_parallel: 2\n`);
    create('bd-garbled-night', 0);
    const first = await night(['--policy', policy]);
    expect(first.report.counts.dispatched, first.stderr).toBe(1);
    const paths = jobPaths(sb.state, 'fake', 'bd-garbled-night');
    const running = () => {
      const hb = fs.existsSync(paths.heartbeat) ? parseKv(fs.readFileSync(paths.heartbeat, 'utf8')) : {};
      return hb.agent_pid ? { agent: Number(hb.agent_pid), watcher: Number(hb.watcher_pid) } : undefined;
    };
    const pids = await waitFor(running, 'the agent running');
    // a second job that ends at once
    create('bd-garbled-done', 1);
    const quick = path.join(sb.dir, 'quick.json');
    fs.writeFileSync(quick, JSON.stringify({ steps: [{ result: 'done' }, { exit: 0 }] }));
    const second = await night(['--policy', policy], { FAKE_AGENT_DEFAULT_SCRIPT: quick });
    expect(second.report.items.map((i) => [i.beads_id, i.action])).toEqual([['bd-garbled-done', 'dispatched']]);
    const done = jobPaths(sb.state, 'fake', 'bd-garbled-done');
    await waitFor(() => fs.existsSync(done.outcome), 'bd-garbled-done ended');
    for (const meta of [paths.meta, done.meta]) fs.writeFileSync(meta, '{garbled\n');
    const next = await night(['--policy', policy]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.report.stopped).toEqual([
      { beads_id: 'bd-garbled-night', host: 'local', reason_code: 'state_file_corrupt', detail: null },
    ]);
    await waitFor(() => !processExists(pids.agent) && !processExists(pids.watcher), 'its processes gone');
    expect(next.report.finished.map((f) => [f.beads_id, f.state, f.reason_code])).toEqual([
      ['bd-garbled-done', 'exited_err', 'state_file_corrupt'],
    ]);
    // each said once: the run after has nothing more to say of them
    const after = await night(['--policy', policy]);
    expect([after.report.stopped, after.report.finished]).toEqual([[], []]);
  });

  it("the next morning's report says how each job of an earlier night ended, once", async () => {
    const scripts = {
      done: { steps: [{ write: 'fix.txt', content: 'fixed\n' }, { result: 'fixed it' }, { exit: 0 }] },
      broke: { steps: [{ message: 'trying' }, { result: 'gave up', ok: false }, { exit: 3 }] },
    };
    const policy = path.join(sb.dir, 'two.yaml');
    fs.writeFileSync(
      policy,
      `nightly:\n  provider_chain: [fake]\n  max_parallel: 2\n  alert_on_dispatch_complete: false\n`,
    );
    const finished: NightReport['finished'] = [];
    for (const [id, body] of Object.entries(scripts)) {
      create(`bd-${id}`);
      const file = path.join(sb.dir, `${id}.json`);
      fs.writeFileSync(file, JSON.stringify(body));
      const r = await night(['--policy', policy], { FAKE_AGENT_DEFAULT_SCRIPT: file });
      expect(r.report.items.filter((i) => i.action === 'dispatched').map((i) => i.beads_id)).toEqual([`bd-${id}`]);
      finished.push(...r.report.finished);
    }
    for (const id of Object.keys(scripts))
      await waitFor(() => fs.existsSync(jobPaths(sb.state, 'fake', `bd-${id}`).outcome), `bd-${id} ended`);
    const morning = await night(['--policy', policy]);
    finished.push(...morning.report.finished);
    // bd-done may have ended before the second night looked: each is reported by the first run after its end
    expect(finished.map((f) => [f.beads_id, f.host, f.state, f.exit_code]).sort()).toEqual([
      ['bd-broke', 'local', 'exited_err', 3],
      ['bd-done', 'local', 'exited_ok', 0],
    ]);
    expect(morning.report.migration.live_jobs).toBe(0);
    const markdown = fs.readFileSync(morning.report.report_files.markdown, 'utf8');
    expect(markdown).toMatch(
      /## Jobs of earlier runs that ended\n\n(- .*\n)*- bd-broke \(local\): \*\*exited_err\*\* \([a-z_]+, exit 3\)/,
    );
    // the one that ended badly is alerted, once; the one that ended well is not
    const alerted = hook.bodies.map((b) => JSON.stringify(b)).filter((b) => b.includes('ended badly'));
    expect(alerted).toEqual([expect.stringMatching(/bd-broke \(local\): exited_err \([a-z_]+, exit 3\)/)]);
    expect(alerted[0]).not.toContain('bd-done');
    // said once: the run after has nothing more to say about them
    expect((await night(['--policy', policy])).report.finished).toEqual([]);
    expect(hook.bodies.map((b) => JSON.stringify(b)).filter((b) => b.includes('ended badly'))).toHaveLength(1);
  });

  it('a daily token budget: once the jobs that ended in the last 24 h spent it, a run claims nothing and says why', async () => {
    const policy = path.join(sb.dir, 'budget.yaml');
    fs.writeFileSync(
      policy,
      `nightly:\n  provider_chain: [fake]\n  max_parallel: 2\n  alert_on_dispatch_complete: false\n  max_tokens_per_day: 1\n`,
    );
    const done = path.join(sb.dir, 'done.json');
    fs.writeFileSync(
      done,
      JSON.stringify({
        steps: [{ write: 'fix.txt', content: 'fixed\n' }, { usage: { input: 1200, output: 300 } }, { exit: 0 }],
      }),
    );
    create('bd-spends');
    // nothing has ended yet: the budget is untouched and the item goes
    const first = await night(['--policy', policy], { FAKE_AGENT_DEFAULT_SCRIPT: done });
    expect(first.report.tokens).toEqual({ max_per_day: 1, spent_last_24h: 0 });
    expect(first.report.counts.dispatched).toBe(1);
    await waitFor(() => fs.existsSync(jobPaths(sb.state, 'fake', 'bd-spends').outcome), 'bd-spends ended');

    create('bd-waits');
    const second = await night(['--policy', policy]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.report.status).toBe('token_budget_spent');
    const spent = 1500;
    expect(second.report.finished.map((f) => [f.beads_id, f.tokens])).toEqual([['bd-spends', spent]]);
    expect(second.report.tokens).toEqual({ max_per_day: 1, spent_last_24h: spent });
    expect(second.report.items.map((i) => [i.beads_id, i.action, i.reason])).toEqual([
      [
        'bd-waits',
        'skipped',
        `token_budget_spent (${spent} of nightly.max_tokens_per_day 1 in the last 24 h); left unclaimed`,
      ],
    ]);
    expect(issue('bd-waits')).toMatchObject({ status: 'open' });
    expect(hook.bodies.map((b) => b.text.split('\n')[0])).toEqual([
      '*⚠️ nightly-dispatch: daily token budget spent, nothing claimed*',
    ]);
    const markdown = fs.readFileSync(second.report.report_files.markdown, 'utf8');
    expect(markdown).toContain(
      `- tokens: ${spent} spent by nightly jobs that ended in the last 24 h of a daily budget of 1`,
    );
    expect(markdown).toContain(`, ${spent} tokens — `);
  });

  it('runs two at a time once 48 h have passed since the recorded migration start', async () => {
    for (const id of ['bd-m1', 'bd-m2', 'bd-m3']) create(id);
    fs.mkdirSync(nightly, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(nightly, 'migration-start'), `${new Date(Date.now() - 49 * 3_600_000).toISOString()}\n`);
    const r = await night(['--max-items', '5']);
    expect(r.report.migration.max_parallel).toBe(2);
    expect(r.report.items.map((i) => i.action)).toEqual(['dispatched', 'dispatched', 'skipped']);
    await Promise.all(['bd-m1', 'bd-m2'].map(stop));
  });

  it('falls back from the primary provider, alerting once per 30 minutes with the primary failure', async () => {
    create('bd-f1');
    const r = await night([], { FAKE_PREFLIGHT_FAIL: 'fake' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.provider).toMatchObject({
      selected: 'fake-alt',
      fallback: true,
      primary_failure: { provider: 'fake', reason_code: 'fake_auth_blocked' },
    });
    expect(r.report.provider.preflight.map((p) => [p.provider, p.ok])).toEqual([
      ['fake', false],
      ['fake-alt', true],
    ]);
    expect(r.report.items[0]).toMatchObject({ action: 'dispatched', provider: 'fake-alt' });
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0].text).toMatch(
      /provider fallback: fake → fake-alt[\s\S]*Primary failure \(fake\): fake_auth_blocked/,
    );
    expect(hook.bodies[0].blocks).toEqual([{ type: 'section', text: { type: 'mrkdwn', text: hook.bodies[0].text } }]);
    expect(r.stderr).toMatch(
      /provider fallback: fake unavailable, using fake-alt\. Primary failure: fake_auth_blocked/,
    );

    // an hour later (a new process): the same alert is rate-limited, remembered on disk
    const again = await night([], { FAKE_PREFLIGHT_FAIL: 'fake' });
    expect(again.report.alerts).toEqual([
      { kind: 'fallback_fake_fake-alt', result: 'rate_limited', detail: expect.stringMatching(/^last sent /) },
    ]);
    expect(hook.bodies).toHaveLength(1);
    await stop('bd-f1');
  });

  it('with every provider down: exit 21, every failure listed and alerted with its model, nothing claimed', async () => {
    create('bd-d1');
    // fake-alt tried once per model: each failure names its model (it read as one name twice)
    const policy = path.join(sb.dir, 'policy-models.yaml');
    fs.writeFileSync(
      policy,
      `nightly:\n  provider_chain: [fake, fake-alt]\n  provider_models: {fake-alt: [alt-a, alt-b]}\n  alert_on_dispatch_complete: false\n`,
    );
    const r = await night(['--policy', policy], { FAKE_PREFLIGHT_FAIL: 'fake,fake-alt' });
    expect(r.code).toBe(21);
    expect(r.report.status).toBe('no_provider');
    expect(r.report.error).toMatch(
      /fake \(fake-model-1\): fake_auth_blocked .*; fake-alt \(alt-a\): fake_alt_auth_blocked .*; fake-alt \(alt-b\): fake_alt_auth_blocked/,
    );
    expect(hook.bodies.map((b) => b.text)).toEqual([
      expect.stringMatching(
        /no provider available[\s\S]*fake \(fake-model-1\): fake_auth_blocked[\s\S]*fake-alt \(alt-a\): fake_alt_auth_blocked[\s\S]*fake-alt \(alt-b\)/,
      ),
    ]);
    const markdown = fs.readFileSync(r.report.report_files.markdown, 'utf8');
    expect(markdown).toContain('| fake-alt | alt-a | no | fake_alt_auth_blocked |');
    expect(markdown).toContain('| fake-alt | alt-b | no | fake_alt_auth_blocked |');
    expect(issue('bd-d1')).toMatchObject({ status: 'open' });
    expect(r.report.counts.claimed).toBe(0);
  });

  it('skips items someone else claimed (multi-word owners, even when bd exits 0) and takes the next', async () => {
    create('bd-c1', 0);
    create('bd-c2', 1);
    // bd ready lists only unassigned items: the race is an item claimed between ready and claim
    const wrapper = path.join(sb.dir, 'bd-racy');
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\nif [ "$1" = update ] && [ "$2" = bd-c1 ]; then BD_ACTOR='Recovery Agent' '${BD_STUB}' update bd-c1 --claim >/dev/null 2>&1; fi\nexec '${BD_STUB}' "$@"\n`,
      { mode: 0o755 },
    );
    const r = await night(['--max-items', '1'], { BD_BIN: wrapper, BD_STUB_CLAIM_EXIT0: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.items.map((i) => [i.beads_id, i.action, i.claimed_by])).toEqual([
      ['bd-c1', 'skipped', 'Recovery Agent'],
      ['bd-c2', 'dispatched', null],
    ]);
    expect(r.report.items[0].reason).toBe('already claimed by Recovery Agent');
    expect(issue('bd-c1').assignee).toBe('Recovery Agent');
    await stop('bd-c2');
  });

  it('retries a launch whose acknowledgement timed out, and gives the claim back when it never comes', async () => {
    create('bd-a1');
    const marker = path.join(sb.dir, 'slow-once.done');
    const slowOnce = dxRunnerThat(
      'dx-runner-slow-once',
      `[ "$1" = start ] && [ ! -e '${marker}' ]`,
      `touch '${marker}'; exec sleep 4`,
    );
    const policy = path.join(sb.dir, 'fast-ack.yaml');
    fs.writeFileSync(
      policy,
      `nightly:\n  provider_chain: [fake, fake-alt]\n  ack_timeout_sec: 1.5\n  ack_retries: 1\n  alert_on_dispatch_complete: false\n`,
    );
    const r = await night(['--policy', policy], { DX_RUNNER_BIN: slowOnce });
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.items[0]).toMatchObject({ action: 'dispatched', ack_attempts: 2 });
    expect(r.stderr).toContain('bd-a1: no launch acknowledgement within 1.5s (attempt 1 of 2)');
    await stop('bd-a1');

    create('bd-a2');
    const slow = dxRunnerThat('dx-runner-slow', `[ "$1" = start ]`, `exec sleep 4`);
    const failed = await night(['--policy', policy], { DX_RUNNER_BIN: slow });
    expect(failed.code).toBe(1);
    expect(failed.report.status).toBe('partial');
    expect(failed.report.items.find((i) => i.beads_id === 'bd-a2')).toMatchObject({
      action: 'failed',
      ack_attempts: 2,
      claim_released: true,
      reason: expect.stringMatching(/^ack_timeout: /),
    });
    expect(issue('bd-a2').status).toBe('open');
    expect(issue('bd-a2').assignee).toBeUndefined();
    expect(hook.bodies.map((b) => b.text)).toEqual([expect.stringMatching(/dispatch failed[\s\S]*bd-a2/)]);
  });

  it('a dx-runner whose clock is 30 s behind: a late acknowledgement and a killed run still find the job they started', async () => {
    // every dx-runner call of these runs reads a clock 30 s behind this one (libfaketime), as a
    // fleet host that does not sync time would; the run's own times are this machine's
    const behind = (before: string) => {
      const script = path.join(sb.dir, `dx-runner-behind-${before ? 'hangs' : 'slow'}`);
      fs.writeFileSync(
        script,
        `#!/bin/sh
export ${Object.entries(skewedClockEnv('-30s'))
          .map(([k, v]) => `${k}='${v}'`)
          .join(' ')}
${before ? `if [ "$1" = start ]; then '${process.execPath}' '${CLI_BIN}' "$@"; ${before}; fi\n` : ''}exec '${process.execPath}' '${CLI_BIN}' "$@"
`,
        { mode: 0o755 },
      );
      return script;
    };
    const policy = path.join(sb.dir, 'behind-ack.yaml');
    fs.writeFileSync(
      policy,
      `nightly:\n  provider_chain: [fake, fake-alt]\n  ack_timeout_sec: 1.5\n  ack_retries: 1\n  alert_on_dispatch_complete: false\n`,
    );
    // the start launches the job, then its answer is late: the job that came up is this start's
    create('bd-s1');
    const late = await night(['--policy', policy], { DX_RUNNER_BIN: behind('exec sleep 4') });
    expect(late.code, late.stderr).toBe(0);
    expect(late.report.items[0]).toMatchObject({ beads_id: 'bd-s1', action: 'dispatched', ack_attempts: 1 });
    expect(late.stderr).toContain('bd-s1: the job came up after all');
    expect(issue('bd-s1').status).toBe('in_progress');
    await stop('bd-s1');

    // the run is killed after the start launched the job: the next run finds that job the item's
    create('bd-s2');
    const hangs = behind(`touch '${path.join(sb.dir, 'behind-start')}'; exec sleep 30`);
    const slowAck = path.join(sb.dir, 'behind-slow-ack.yaml');
    fs.writeFileSync(
      slowAck,
      `nightly:\n  provider_chain: [fake, fake-alt]\n  ack_timeout_sec: 60\n  alert_on_dispatch_complete: false\n`,
    );
    await killedOnceThere(path.join(sb.dir, 'behind-start'), 'dx-runner start', ['--policy', slowAck], {
      DX_RUNNER_BIN: hangs,
    });
    const after = await night(['--policy', slowAck], { DX_RUNNER_BIN: behind('') });
    expect(after.report.interrupted).toMatchObject([{ beads_id: 'bd-s2', outcome: 'job_started' }]);
    expect(issue('bd-s2').status).toBe('in_progress');
    await stop('bd-s2');
  });

  it('a start refused because the state root filled up gives its claim back and claims nothing more that night', async () => {
    for (const id of ['bd-f1', 'bd-f2', 'bd-f3']) create(id);
    fs.mkdirSync(nightly, { recursive: true, mode: 0o700 });
    fs.writeFileSync(path.join(nightly, 'migration-start'), `${new Date(Date.now() - 49 * 3_600_000).toISOString()}\n`);
    // a dx-runner whose state root has no room left for the job's records
    const full = writeFullDiskDxRunner(path.join(sb.dir, 'dx-runner-full'), [process.execPath, CLI_BIN]);
    const r = await night(['--max-items', '5'], { DX_RUNNER_BIN: full });
    expect(r.code).toBe(1);
    expect(r.report.items.map((i) => [i.beads_id, i.action])).toEqual([
      ['bd-f1', 'failed'],
      ['bd-f2', 'skipped'],
      ['bd-f3', 'skipped'],
    ]);
    expect(r.report.items[0]).toMatchObject({ claim_released: true, reason: expect.stringMatching(/^disk_full: /) });
    expect(r.report.items[1].reason).toMatch(/^disk_full: .*nothing more starts tonight \(left unclaimed\)$/);
    for (const id of ['bd-f1', 'bd-f2', 'bd-f3']) {
      expect(issue(id).status).toBe('open');
      expect(issue(id).assignee).toBeUndefined();
    }
  });

  it('a run killed between the claim and the launch leaves nothing stuck: the next run settles the claim', async () => {
    const policy = path.join(sb.dir, 'slow-ack.yaml');
    fs.writeFileSync(
      policy,
      `nightly:\n  provider_chain: [fake, fake-alt]\n  ack_timeout_sec: 60\n  alert_on_dispatch_complete: false\n`,
    );
    const atStart = path.join(sb.dir, 'start-reached');
    /** A nightly run whose dx-runner `start` does `before`, then hangs; killed (its whole group) once there. */
    const killedInStart = async (before: string) => {
      const script = dxRunnerThat(
        'dx-runner-hangs-in-start',
        `[ "$1" = start ]`,
        `${before}touch '${atStart}'; exec sleep 30`,
      );
      await killedOnceThere(atStart, 'dx-runner start', ['--policy', policy], { DX_RUNNER_BIN: script });
    };
    const prompts = () => fs.readdirSync(sb.dir).filter((f) => f.startsWith('ndisp_'));

    // killed before dx-runner launched anything: the claim goes back and the item runs tonight
    create('bd-k1');
    await killedInStart('');
    expect(issue('bd-k1').status).toBe('in_progress');
    expect(prompts()).toHaveLength(1);
    const next = await night(['--policy', policy]);
    expect(next.code, next.stderr).toBe(0);
    expect(next.report.interrupted).toMatchObject([{ beads_id: 'bd-k1', outcome: 'claim_released' }]);
    expect(next.report.items).toMatchObject([{ beads_id: 'bd-k1', action: 'dispatched' }]);
    expect(prompts()).toEqual([]);
    expect(fs.readFileSync(next.report.report_files.markdown, 'utf8')).toMatch(
      /## Dispatches left unsettled by earlier runs\n\n- bd-k1 .*\*\*claim_released\*\*/,
    );
    await stop('bd-k1');

    // killed after dx-runner launched the job, before the run heard of it: the job is the item's
    create('bd-k2');
    await killedInStart(`'${process.execPath}' '${CLI_BIN}' "$@" >/dev/null; `);
    create('bd-k3');
    const after = await night(['--policy', policy]);
    expect(after.report.interrupted).toMatchObject([{ beads_id: 'bd-k2', outcome: 'job_started' }]);
    // it is not started again, and it counts as a running nightly job (one at a time in the first 48 h)
    expect(after.report.migration.live_jobs).toBe(1);
    expect(after.report.items).toMatchObject([
      { beads_id: 'bd-k3', action: 'skipped', reason: expect.stringMatching(/^max_parallel_reached/) },
    ]);
    expect(issue('bd-k2').status).toBe('in_progress');
    const check = await sb.dxJson(['check', '--beads', 'bd-k2'], CheckOutputSchema);
    expect(check.json.state).toMatch(/launching|healthy/);
    // settled once: the run after that finds nothing left
    expect((await night(['--policy', policy])).report.interrupted).toEqual([]);
    await stop('bd-k2');

    // killed before launching (bd-k3 is next), and a person took the item over meanwhile: theirs stays
    await killedInStart('');
    expect(issue('bd-k3').status).toBe('in_progress');
    bd('update', 'bd-k3', '--assignee', 'alice', '--json');
    const taken = await night(['--policy', policy]);
    expect(taken.report.interrupted).toMatchObject([{ beads_id: 'bd-k3', outcome: 'claim_moved_on' }]);
    expect(issue('bd-k3')).toMatchObject({ status: 'in_progress', assignee: 'alice' });
  });

  it('a run killed while bd claims an item: the next run gives back a claim bd took, and only that one', async () => {
    const atClaim = path.join(sb.dir, 'claim-reached');
    /** A nightly run whose `bd update --claim` does `before`, then hangs; killed (its whole group) there. */
    const killedWhileClaiming = async (before: string, onReady = '') => {
      const script = path.join(sb.dir, 'bd-hangs-in-claim');
      fs.writeFileSync(
        script,
        [
          '#!/bin/sh',
          `case " $* " in *" --claim "*) ${before}touch '${atClaim}'; exec sleep 30;; esac`,
          `case " $* " in *" ready "*) '${BD_STUB}' "$@"; ${onReady}exit 0;; esac`,
          `exec '${BD_STUB}' "$@"`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      await killedOnceThere(atClaim, 'bd update --claim', [], { BD_BIN: script });
    };

    // bd took the claim, then the run was killed before it heard so: the claim goes back, the item runs
    create('bd-c1');
    await killedWhileClaiming(`'${BD_STUB}' "$@" >/dev/null 2>&1; `);
    expect(issue('bd-c1').status).toBe('in_progress');
    const next = await night();
    expect(next.code, next.stderr).toBe(0);
    expect(next.report.interrupted).toMatchObject([{ beads_id: 'bd-c1', outcome: 'claim_released' }]);
    expect(next.report.items).toMatchObject([{ beads_id: 'bd-c1', action: 'dispatched' }]);
    await stop('bd-c1');

    // killed before bd took it: nothing to give back, the item stays ready
    create('bd-c2');
    await killedWhileClaiming('');
    expect(issue('bd-c2')).toMatchObject({ status: 'open' });
    bd('update', 'bd-c2', '--status', 'deferred', '--json');
    const never = await night();
    expect(never.report.interrupted).toMatchObject([{ beads_id: 'bd-c2', outcome: 'never_claimed' }]);

    // a person claimed it before the run tried (after bd ready listed it): theirs stays
    create('bd-c3');
    await killedWhileClaiming('', `'${BD_STUB}' update bd-c3 --assignee alice --status in_progress >/dev/null; `);
    const theirs = await night();
    expect(theirs.report.interrupted).toMatchObject([{ beads_id: 'bd-c3', outcome: 'claim_moved_on' }]);
    expect(issue('bd-c3')).toMatchObject({ status: 'in_progress', assignee: 'alice' });
    // settled once: nothing is left for the run after
    expect((await night()).report.interrupted).toEqual([]);

    // a bd that cannot answer is asked again by the next run: the record is not dropped
    create('bd-c4');
    await killedWhileClaiming(`'${BD_STUB}' "$@" >/dev/null 2>&1; `);
    const locked = path.join(beads.beadsDir, 'LOCKED');
    fs.writeFileSync(locked, '');
    const unanswered = await night();
    expect(unanswered.report.interrupted).toMatchObject([
      { beads_id: 'bd-c4', outcome: 'claim_kept', reason: expect.stringMatching(/bd could not be asked/) },
    ]);
    fs.rmSync(locked);
    const answered = await night();
    expect(answered.report.interrupted).toMatchObject([{ beads_id: 'bd-c4', outcome: 'claim_released' }]);
    await stop('bd-c4');
  });

  it("cron's timeout (SIGTERM to the run's group) during a start: that item is dispatched, no more is claimed, the report says interrupted", async () => {
    const policy = path.join(sb.dir, 'three.yaml');
    fs.writeFileSync(
      policy,
      `nightly:\n  provider_chain: [fake, fake-alt]\n  max_items: 3\n  max_parallel: 3\n  alert_on_dispatch_complete: true\n`,
    );
    for (const id of ['bd-t1', 'bd-t2', 'bd-t3']) create(id);
    // dx-runner start launches the job, prints its result, then is still running when the signal comes
    const atStart = path.join(sb.dir, 'start-answered');
    const script = dxRunnerThat(
      'dx-runner-slow-to-exit',
      `[ "$1" = start ]`,
      `'${process.execPath}' '${CLI_BIN}' "$@"; touch '${atStart}'; exec sleep 30`,
    );
    const r = await signalledOnceThere(
      atStart,
      'dx-runner start',
      ['--json', '--policy', policy],
      { DX_RUNNER_BIN: script },
      'SIGTERM',
    );
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('SIGTERM: finishing the step in flight, claiming nothing more');
    const report = NightReportSchema.parse(JSON.parse(r.stdout));
    expect(report).toMatchObject({
      status: 'interrupted',
      exit_code: 143,
      error: 'interrupted by SIGTERM: 2 item(s) left unclaimed',
      counts: { claimed: 1, dispatched: 1, skipped: 2, failed: 0 },
    });
    // the launched job is the item's: its claim stays, and it runs on (its watcher is not in the group)
    expect(report.items).toMatchObject([
      { beads_id: 'bd-t1', action: 'dispatched' },
      { beads_id: 'bd-t2', action: 'skipped', reason: 'interrupted (SIGTERM; left unclaimed)' },
      { beads_id: 'bd-t3', action: 'skipped', reason: 'interrupted (SIGTERM; left unclaimed)' },
    ]);
    expect(issue('bd-t1').status).toBe('in_progress');
    expect(issue('bd-t2').status).toBe('open');
    expect(issue('bd-t3').status).toBe('open');
    const check = await sb.dxJson(['check', '--beads', 'bd-t1'], CheckOutputSchema);
    expect(check.json.state).toMatch(/launching|healthy/);
    // one alert says what the night did before it was stopped; the morning report files say it too
    expect(hook.bodies.map((b) => b.text.split('\n')[0])).toEqual(['*⚠️ nightly-dispatch interrupted (SIGTERM)*']);
    expect(hook.bodies[0].text).toContain('bd-t1: ✅ dispatched to fake');
    expect(fs.readFileSync(report.report_files.markdown, 'utf8')).toContain(
      '- status: **interrupted** (exit 143) — interrupted by SIGTERM: 2 item(s) left unclaimed',
    );
    expect(fs.readdirSync(path.join(nightly, 'dispatching'))).toEqual([]);
    // the next night counts the job as running and goes on with the rest
    const next = await night(['--policy', policy]);
    expect(next.report.interrupted).toEqual([]);
    expect(next.report.migration.live_jobs).toBe(1);
    expect(next.report.items.map((i) => [i.beads_id, i.action])).toEqual([
      ['bd-t2', 'dispatched'],
      ['bd-t3', 'dispatched'],
    ]);
    for (const id of ['bd-t1', 'bd-t2', 'bd-t3']) await stop(id);
  });

  it("cron's timeout while bd claims: the claim bd may have taken is left on record, and the next run gives it back", async () => {
    create('bd-u1');
    const atClaim = path.join(sb.dir, 'claim-taken');
    const script = path.join(sb.dir, 'bd-slow-to-exit');
    fs.writeFileSync(
      script,
      [
        '#!/bin/sh',
        `case " $* " in *" --claim "*) '${BD_STUB}' "$@" >/dev/null 2>&1; touch '${atClaim}'; exec sleep 30;; esac`,
        `exec '${BD_STUB}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    );
    const r = await signalledOnceThere(atClaim, 'bd update --claim', ['--json'], { BD_BIN: script }, 'SIGTERM');
    expect(r.code, r.stderr).toBe(143);
    const report = NightReportSchema.parse(JSON.parse(r.stdout));
    expect(report.status).toBe('interrupted');
    expect(report.items).toMatchObject([
      {
        beads_id: 'bd-u1',
        action: 'skipped',
        reason: 'claim_unknown: bd update --claim was ended by SIGTERM before it answered (the next run settles it)',
      },
    ]);
    // bd did claim it: left on record, not taken for "someone else's" nor forgotten
    expect(issue('bd-u1').status).toBe('in_progress');
    expect(fs.readdirSync(path.join(nightly, 'dispatching'))).toEqual(['bd-u1.json']);
    const next = await night();
    expect(next.report.interrupted).toMatchObject([{ beads_id: 'bd-u1', outcome: 'claim_released' }]);
    expect(next.report.items).toMatchObject([{ beads_id: 'bd-u1', action: 'dispatched' }]);
    await stop('bd-u1');
  });

  it("cron's timeout during the preflight: no false 'no provider' alert, nothing claimed", async () => {
    create('bd-v1');
    const atPreflight = path.join(sb.dir, 'preflight-reached');
    const script = dxRunnerThat(
      'dx-runner-slow-preflight',
      `[ "$1" = preflight ]`,
      `touch '${atPreflight}'; exec sleep 30`,
    );
    const r = await signalledOnceThere(
      atPreflight,
      'dx-runner preflight',
      ['--json'],
      { DX_RUNNER_BIN: script },
      'SIGTERM',
    );
    expect(r.code, r.stderr).toBe(143);
    const report = NightReportSchema.parse(JSON.parse(r.stdout));
    expect(report.status).toBe('interrupted');
    expect(report.counts.claimed).toBe(0);
    expect(hook.bodies.map((b) => b.text.split('\n')[0])).toEqual(['*⚠️ nightly-dispatch interrupted (SIGTERM)*']);
    expect(issue('bd-v1').status).toBe('open');
  });

  it("cron's timeout seen first in the preflight's end, then in the run's own handler: still an interrupted night", async () => {
    create('bd-v2');
    // the order the kernel may deliver cron's one signal to the group in, made certain: the
    // preflight ends by SIGTERM, and the run (its parent, $PPID) gets its SIGTERM 50 ms later
    const script = dxRunnerThat(
      'dx-runner-preflight-ends-first',
      `[ "$1" = preflight ]`,
      `run=$PPID; (sleep 0.05; kill -TERM "$run") </dev/null >/dev/null 2>&1 & kill -TERM $$`,
    );
    const r = await night([], { DX_RUNNER_BIN: script });
    expect(r.code, r.stderr).toBe(143);
    expect(r.report).toMatchObject({ status: 'interrupted', counts: { claimed: 0 } });
    expect(hook.bodies.map((b) => b.text.split('\n')[0])).toEqual(['*⚠️ nightly-dispatch interrupted (SIGTERM)*']);
    expect(issue('bd-v2').status).toBe('open');
  });

  it("cron's timeout seen first in a start's end, then in the run's own handler: nothing more is claimed", async () => {
    const policy = path.join(sb.dir, 'two.yaml');
    fs.writeFileSync(policy, `nightly:\n  provider_chain: [fake]\n  max_items: 2\n  max_parallel: 2\n`);
    for (const id of ['bd-w1', 'bd-w2']) create(id);
    // the start launches its job and prints its result, then ends by SIGTERM; its parent gets its own 50 ms later
    const script = dxRunnerThat(
      'dx-runner-start-ends-first',
      `[ "$1" = start ]`,
      `'${process.execPath}' '${CLI_BIN}' "$@"; run=$PPID; (sleep 0.05; kill -TERM "$run") </dev/null >/dev/null 2>&1 & kill -TERM $$`,
    );
    const r = await night(['--policy', policy], { DX_RUNNER_BIN: script });
    expect(r.code, r.stderr).toBe(143);
    expect(r.report.items).toMatchObject([
      { beads_id: 'bd-w1', action: 'dispatched' },
      { beads_id: 'bd-w2', action: 'skipped', reason: 'interrupted (SIGTERM; left unclaimed)' },
    ]);
    expect(issue('bd-w2').status).toBe('open');
    await stop('bd-w1');
  });

  it('a running job of an earlier night that cannot be checked right now still counts, and is not forgotten', async () => {
    create('bd-l1');
    const first = await night();
    expect(first.report.items).toMatchObject([{ beads_id: 'bd-l1', action: 'dispatched' }]);
    create('bd-l2');
    // this night's dx-runner cannot answer `check` (a lock, a transient failure): bd-l1 still runs
    const script = dxRunnerThat(
      'dx-runner-check-fails',
      `[ "$1" = check ]`,
      `echo 'Error: state root busy' >&2; exit 1`,
    );
    const blind = await night([], { DX_RUNNER_BIN: script });
    expect(blind.stderr).toMatch(/bd-l1 \(local\): could not be checked \(.*\); still counted as running/);
    expect(blind.report.migration.live_jobs).toBe(1);
    expect(blind.report.items).toMatchObject([
      { beads_id: 'bd-l2', action: 'skipped', reason: expect.stringMatching(/^max_parallel_reached/) },
    ]);
    // the night after, with a dx-runner that answers, still knows it
    const after = await night();
    expect(after.report.migration.live_jobs).toBe(1);
    await stop('bd-l1');
  });

  it('an id that is not a beads id dx-runner accepts (path-like) is never claimed or written anywhere', async () => {
    bd('create', 'Escape', '--id', '../../escape', '-p', '0', '-d', 'x', '--silent');
    create('bd-fine');
    const r = await night();
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.items).toMatchObject([
      { beads_id: '../../escape', action: 'skipped', reason: expect.stringMatching(/^invalid_beads_id/) },
      { beads_id: 'bd-fine', action: 'dispatched' },
    ]);
    expect(issue('../../escape').status).toBe('open');
    expect(fs.existsSync(path.join(nightly, '..', 'escape.json'))).toBe(false);
    await stop('bd-fine');
  });

  it('a webhook that is down never fails the night, and its URL never reaches the output', async () => {
    create('bd-w1');
    hook.status = 500;
    const r = await night([], { FAKE_PREFLIGHT_FAIL: 'fake' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.alerts).toEqual([{ kind: 'fallback_fake_fake-alt', result: 'failed', detail: 'HTTP 500' }]);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const refused = await night([], {
      FAKE_PREFLIGHT_FAIL: 'fake',
      SLACK_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/secret-hook-token`,
    });
    expect(refused.code).toBe(0);
    expect(refused.report.alerts[0]).toMatchObject({ result: 'failed', detail: 'ECONNREFUSED' });
    for (const out of [
      r.stdout,
      r.stderr,
      refused.stdout,
      refused.stderr,
      fs.readFileSync(path.join(nightly, 'reports', 'latest.md'), 'utf8'),
    ])
      expect(out).not.toContain('secret-hook-token');
    await stop('bd-w1');
  });

  it('refuses to overlap a run in progress, and a dry run claims and records nothing', async () => {
    create('bd-o1');
    const slow = dxRunnerThat('dx-runner-slow-preflight', `[ "$1" = preflight ]`, `sleep 3`);
    const first = spawn(process.execPath, [NIGHTLY_BIN, 'run', '--dry-run'], {
      env: { ...sb.env, DX_RUNNER_BIN: slow },
      stdio: 'ignore',
    });
    const firstDone = new Promise<number | null>((resolve) => first.on('close', resolve));
    const lock = path.join(nightly, '.locks', 'nightly-run.lock');
    for (let i = 0; i < 100 && !fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 50));
    const second = await sb.bin(NIGHTLY_BIN, ['run']);
    expect(second.code).toBe(1);
    expect(second.stderr.trim()).toMatch(
      /^Error: another nightly-dispatch run is in progress \(pid \d+\).*reason_code=nightly_run_in_progress/,
    );
    expect(await firstDone).toBe(0);

    const dry = await night(['--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.report.items).toMatchObject([{ beads_id: 'bd-o1', action: 'would_dispatch', provider: 'fake' }]);
    expect(issue('bd-o1').status).toBe('open');
    expect(fs.existsSync(path.join(nightly, 'migration-start'))).toBe(false);
  });

  it('a dry run prints the alerts it would send and sends none', async () => {
    create('bd-dry');
    const dry = await night(['--dry-run'], { FAKE_PREFLIGHT_FAIL: 'fake' });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.report.provider).toMatchObject({ selected: 'fake-alt', fallback: true });
    expect(dry.report.alerts).toEqual([
      expect.objectContaining({
        kind: 'fallback_fake_fake-alt',
        result: 'dry_run',
        detail: expect.stringContaining('provider fallback: fake → fake-alt'),
      }),
    ]);
    expect(dry.stderr).toMatch(
      /dry run: would send alert fallback_fake_fake-alt: .*Primary failure \(fake\): fake_auth_blocked/,
    );
    expect(hook.bodies).toEqual([]);
    // nothing was remembered as sent: the next real run alerts
    const real = await night([], { FAKE_PREFLIGHT_FAIL: 'fake' });
    expect(real.report.alerts[0]).toMatchObject({ result: 'sent' });
    expect(hook.bodies).toHaveLength(1);
    await stop('bd-dry');
  });

  it('a night that ends before dispatching anything does not start the 48 h migration clock', async () => {
    // no provider: the run ends before any claim
    const none = await night([], { FAKE_PREFLIGHT_FAIL: 'fake,fake-alt' });
    expect(none.code).toBe(21);
    // nothing ready: the run ends before any claim
    const empty = await night();
    expect(empty.report.status).toBe('nothing_to_do');
    expect(fs.existsSync(path.join(nightly, 'migration-start'))).toBe(false);
    expect(empty.report.migration.started_at).toBeNull();
    create('bd-clock');
    const real = await night();
    expect(real.report.counts.dispatched).toBe(1);
    expect(real.report.migration.started_at).toBe(
      fs.readFileSync(path.join(nightly, 'migration-start'), 'utf8').trim(),
    );
    await stop('bd-clock');
  });

  it('legacy night: the P0/P1 bug query, one dispatch per title, the overload alert and the summary alert', async () => {
    const legacy = path.join(sb.dir, 'legacy.yaml');
    fs.writeFileSync(
      legacy,
      'nightly:\n  provider_chain: [fake]\n  work_query: critical_bugs\n  max_critical_bugs: 2\n  max_items: 3\n  max_parallel: 3\n  alert_on_dispatch_complete: true\n',
    );
    const bug = (id: string, title: string, priority: number, type = 'bug') => {
      bd('create', title, '--id', id, '-p', String(priority), '-t', type, '-d', `about ${id}`, '--silent');
      sb.worktree(id);
    };
    bug('bd-c1', 'Checkout crashes', 0);
    bug('bd-c2', 'checkout   CRASHES', 1); // the same title: dispatched once
    bug('bd-c3', 'Login loops', 1);
    bug('bd-c4', 'Search is slow', 0);
    bug('bd-c5', 'Typo on the About page', 3); // not critical
    bug('bd-t1', 'Add dark mode', 0, 'feature'); // not a bug
    const r = await night([], { DX_POLICY_FILE: legacy });
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.work).toEqual({ query: 'critical_bugs', critical: 3, overload: true });
    expect(r.report.items.map((i) => [i.beads_id, i.action, i.reason])).toEqual([
      ['bd-c2', 'skipped', 'duplicate_title (same as bd-c1)'],
      ['bd-c1', 'dispatched', null],
      ['bd-c4', 'skipped', 'max_items_reached (1 per run, overload)'],
      ['bd-c3', 'skipped', 'max_items_reached (1 per run, overload)'],
    ]);
    expect(hook.bodies.map((b) => b.text.split('\n')[0])).toEqual([
      '*⚠️ nightly-dispatch: overload protection triggered*',
      '*🌙 nightly-dispatch complete: 1 dispatched, 0 failed*',
    ]);
    expect(hook.bodies[0].text).toContain('Critical bugs: 3 (threshold: 2)');
    expect(hook.bodies[1].text).toContain('bd-c1: ✅ dispatched to fake');
    expect(fs.readFileSync(path.join(nightly, 'reports', 'latest.md'), 'utf8')).toContain('overload protection');
    await stop('bd-c1');
  });

  it("tries a provider's models in turn and names every provider it skipped in the fallback alert", async () => {
    create('bd-models');
    const models = path.join(sb.dir, 'models.yaml');
    fs.writeFileSync(
      models,
      'nightly:\n  provider_chain: [fake, fake-alt]\n  provider_models:\n    fake-alt: [fake-m1, fake-m2]\n  alert_on_dispatch_complete: false\n',
    );
    const r = await night([], {
      DX_POLICY_FILE: models,
      FAKE_PREFLIGHT_FAIL: 'fake',
      FAKE_PREFLIGHT_FAIL_MODELS: 'fake-m1',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.provider).toMatchObject({
      selected: 'fake-alt',
      model: 'fake-m2',
      fallback: true,
      primary_failure: { provider: 'fake' },
    });
    expect(r.report.provider.preflight.map((p) => [p.provider, p.model, p.ok])).toEqual([
      ['fake', expect.any(String), false],
      ['fake-alt', 'fake-m1', false],
      ['fake-alt', 'fake-m2', true],
    ]);
    expect(r.report.items[0]).toMatchObject({ action: 'dispatched', provider: 'fake-alt', model: 'fake-m2' });
    expect(hook.bodies).toHaveLength(1);
    expect(hook.bodies[0].text).toMatch(
      /Primary failure \(fake\): fake_auth_blocked[\s\S]*Then \(fake-alt fake-m1\): fake_alt_auth_blocked/,
    );
    await stop('bd-models');
  });

  it('the shipped policy falls back to Gemini with the default models: gemini-2.5-pro, then gemini-2.0-flash', async () => {
    const { nightChain, NIGHTLY_SECTION } = await import('@dx/nightly-dispatch');
    const { loadPolicy, sectionOf } = await import('@dx/core');
    expect(
      nightChain(sectionOf(loadPolicy({ env: { HOME: sb.dir }, sections: [NIGHTLY_SECTION] }), NIGHTLY_SECTION)),
    ).toEqual(['opencode', 'cc-glm', 'gemini:gemini-2.5-pro', 'gemini:gemini-2.0-flash']);
  });

  it('without bd: exit 24 and a report saying so', async () => {
    const r = await night([], { BD_BIN: path.join(sb.dir, 'no-such-bd'), PATH: '/usr/bin:/bin' });
    expect(r.code).toBe(24);
    expect(r.report.status).toBe('beads_unavailable');
  });
});

const realBin = inject('realCliBin');
/** Seed 003's "real CLI smoke test": preflight per provider and a dry-run start/check, against the built dx-runner. */
(realBin ? describe : describe.skip)('nightly real-CLI smoke test', () => {
  it.each(['opencode', 'cc-glm', 'gemini'])(
    'dx-runner preflight --provider %s answers 0 or 21 with the real CLI',
    async (provider) => {
      const env = { ...sb.env, PATH: `${realBin}:/usr/bin:/bin` };
      const r = await runCli(['preflight', '--provider', provider, '--json'], env, sb.dir);
      expect([0, 21], r.stderr).toContain(r.code);
      expect(JSON.parse(r.stdout).binary.version).toBeTruthy();
    },
  );

  it('a night whose OpenCode has no key falls back to the real Claude Code, whose job does the work', async () => {
    const server = await startFakeModelServer();
    try {
      create('bd-real-night', 0);
      const target = path.join(sb.agents, 'bd-real-night', 'repo', 'night-work.txt');
      const policy = path.join(sb.dir, 'real-policy.yaml');
      fs.writeFileSync(
        policy,
        'nightly:\n  provider_chain: [opencode, cc-glm]\n  alert_on_dispatch_complete: false\nproviders:\n  cc-glm:\n    max_retries: 0\n',
      );
      const env = {
        PATH: `${BD_STUB_DIR}:${realBin}:${process.env.PATH}`,
        DX_POLICY_FILE: policy,
        ZHIPU_API_KEY: undefined,
        CC_GLM_AUTH_TOKEN: 'fake-token-for-tests',
        CC_GLM_BASE_URL: server.base(server.toolMode(target)),
      };
      const r = await night([], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.report.provider).toMatchObject({
        selected: 'cc-glm',
        fallback: true,
        primary_failure: { provider: 'opencode', reason_code: 'opencode_auth_blocked' },
      });
      expect(r.report.items.map((i) => [i.beads_id, i.action, i.provider])).toEqual([
        ['bd-real-night', 'dispatched', 'cc-glm'],
      ]);
      expect(hook.bodies.map((b) => b.text)).toEqual([
        expect.stringMatching(/provider fallback: opencode → cc-glm[\s\S]*Primary failure \(opencode\)/),
      ]);
      const done = await waitFor(
        async () => {
          const c = CheckOutputSchema.parse(
            JSON.parse((await sb.dx(['check', '--beads', 'bd-real-night', '--json'], { env })).stdout),
          );
          return c.outcome_state !== null ? c : undefined;
        },
        'the night job to end',
        120_000,
        250,
      );
      expect(done).toMatchObject({ provider: 'cc-glm', state: 'exited_ok', exit_code: 0 });
      expect(fs.readFileSync(target, 'utf8')).toBe('written through the fake model server\n');
      // the model was asked about the issue nightly-dispatch claimed
      expect(server.requests.some((q) => q.user?.includes('bd-real-night'))).toBe(true);
      expect(issue('bd-real-night')).toMatchObject({ status: 'in_progress' });
    } finally {
      await server.close();
    }
  }, 180_000);

  it('dry-run start and check of the same beads id', async () => {
    const wt = sb.worktree('smoke-test');
    const env = { ...sb.env, PATH: `${realBin}:/usr/bin:/bin` };
    const start = await runCli(
      [
        'start',
        '--beads',
        'smoke-test',
        '--provider',
        'cc-glm',
        '--prompt-file',
        sb.prompt('smoke'),
        '--worktree',
        wt,
        '--dry-run',
      ],
      env,
      sb.dir,
    );
    expect(start.code, start.stderr).toBe(0);
    const check = await runCli(['check', '--beads', 'smoke-test'], env, sb.dir);
    expect([0, 1]).toContain(check.code);
  });
});
