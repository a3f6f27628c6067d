import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import {
  CheckOutputSchema,
  ErrorOutputSchema,
  FleetPreflightOutputSchema,
  FleetStatusOutputSchema,
  JobReportSchema,
  StartOutputSchema,
  WaitOutputSchema,
} from '@dx/core';
import {
  cmdlinesContaining,
  createSandbox,
  FAST_LIMITS,
  killJobProcesses,
  waitFor,
  type Sandbox,
} from '../helpers/sandbox.js';
import { SSHD, skewedDxRunner, startFleet, type SshFleet } from '../helpers/sshd.js';
import { CC_GLM_JOB_BIN, DISPATCH_BIN } from '../helpers/paths.js';
import { startDashboardProcess } from '../helpers/dashboard.js';
import { HostsResponseSchema } from '@dx/dashboard';

/**
 * A fleet of real OpenSSH servers on 127.0.0.1 (hosts a, b, c), each with its own host key, state
 * root, HOME and PATH, reached through the system ssh client with a test-only config (-F). Every
 * per-job command runs on a host with --host; fleet status and preflight query all hosts side by
 * side; ssh's own failures are told apart from the remote command's.
 */
const hasSshd = fs.existsSync(SSHD);
let box: Sandbox;
let fleet: SshFleet;
let policy: string;
const MARKER = 'FLEET-PROMPT-MARKER-7Q2X';

function writePolicy(file: string, hosts: string, extra = ''): string {
  fs.writeFileSync(
    file,
    `fleet:\n  hosts:\n${hosts}  ssh: {config: ${fleet.config}, connect_timeout_sec: 5, control_persist_sec: 120}\n${extra}`,
  );
  return file;
}

/** Every file under `dir` whose content holds `needle` (bounded: skips sockets and large files). */
function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && fs.statSync(p).size < 5_000_000 && fs.readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

describe.runIf(hasSshd || process.env.CI)('fleet over OpenSSH', () => {
  beforeAll(async () => {
    box = createSandbox();
    fleet = await startFleet(path.join(box.dir, 'fleet'), ['a', 'b', 'c'], () => ({
      ...FAST_LIMITS,
      DX_RUNNER_DATA_DIR: inject('pluginDataDir'),
      DX_RUNNER_EXTRA_ALLOWED_PREFIXES: box.agents,
      DX_RUNNER_STARTUP_GRACE_SEC: '1',
      DX_RUNNER_FINAL_EXIT_GRACE_SEC: '1',
    }));
    policy = writePolicy(
      path.join(box.dir, 'policy.yaml'),
      '    a: {ssh: a, max_parallel: 2}\n    b: {ssh: b, max_parallel: 3, providers: [sim]}\n    c: {ssh: c, max_parallel: 1}\n',
    );
  }, 60_000);

  afterAll(async () => {
    for (const host of Object.values(fleet?.hosts ?? {})) killJobProcesses(host.state);
    // the ssh control directories of every TMPDIR the calls used (the sandbox's and the fresh ones)
    const tmpdirs = [
      box.dir,
      ...fs
        .readdirSync(box.dir)
        .filter((d) => d.startsWith('fresh-'))
        .map((d) => path.join(box.dir, d)),
    ];
    await fleet?.cleanup(tmpdirs.map((d) => path.join(d, `dx-runner-ssh-${process.getuid?.() ?? 'user'}`)));
    await box?.cleanup();
  }, 60_000);

  const onHost = (host: string, args: string[], env?: Record<string, string | undefined>) =>
    box.dx([...args, '--host', host, '--policy', policy], { env, timeoutMs: 90_000 });
  const jsonOn = async (host: string, args: string[]) => {
    const r = await onHost(host, [...args, '--json']);
    return { ...r, json: JSON.parse(r.stdout) as Record<string, unknown> };
  };

  /** A job on `host` that keeps running (the simulator's stall scenario) until it is stopped. */
  const startStalling = async (host: string, beads: string, prompt: string) => {
    const args = ['start', '--beads', beads, '--provider', 'sim', '--scenario', 'stall', '--prompt-file', prompt];
    const started = await jsonOn(host, [...args, '--worktree', box.worktree(beads)]);
    expect(started.code, JSON.stringify(started.json)).toBe(0);
    return started;
  };

  it('runs start, check, wait, report and logs on each host; the job lives in that host’s state', async () => {
    const prompt = box.prompt(`${MARKER} write the file\n`, 'fleet-prompt.txt');
    for (const host of ['a', 'b']) {
      const beads = `bd-fleet-${host}`;
      const started = await onHost(host, [
        'start',
        '--beads',
        beads,
        '--provider',
        'sim',
        '--prompt-file',
        prompt,
        '--worktree',
        box.worktree(beads),
      ]);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout).toMatch(new RegExp(`^\\[${host}\\] started beads=${beads} provider=sim`, 'm'));

      const waited = await jsonOn(host, ['wait', beads, '--timeout', '60']);
      expect(waited.code).toBe(0);
      expect(WaitOutputSchema.parse(waited.json).state).toBe('exited_ok');
      expect(waited.json).toMatchObject({ fleet_host: host, json_contract_version: 1 });

      const checked = await jsonOn(host, ['check', '--beads', beads]);
      expect(CheckOutputSchema.parse(checked.json)).toMatchObject({ state: 'exited_ok', outcome_state: 'success' });
      const report = await jsonOn(host, ['report', '--beads', beads]);
      expect(JobReportSchema.parse(report.json).beads).toBe(beads);
      expect(report.json.fleet_host).toBe(host);

      const logs = await onHost(host, ['logs', beads]);
      expect(logs.code).toBe(0);
      for (const line of logs.stdout.trim().split('\n')) expect(line.startsWith(`[${host}] `)).toBe(true);

      // the record is on that host, not here and not on the other hosts
      expect(fs.existsSync(path.join(fleet.hosts[host].state, 'sim', `${beads}.meta`))).toBe(true);
      expect(fs.existsSync(path.join(box.state, 'sim', `${beads}.meta`))).toBe(false);
      const other = host === 'a' ? 'b' : 'a';
      expect(fs.existsSync(path.join(fleet.hosts[other].state, 'sim', `${beads}.meta`))).toBe(false);
    }
  });

  it('dx-dispatch <vm> dispatches to the fleet host the policy names; cc-glm-job takes --host', async () => {
    const env = { DX_POLICY_FILE: policy, DX_DISPATCH_NO_DEPRECATION: '1' };
    const beads = 'bd-fleet-dispatch';
    const wt = box.worktree(beads);
    // host b's first provider (sim) is used; --wait follows the job over SSH
    const dispatched = await box.bin(
      DISPATCH_BIN,
      ['b', `${MARKER} legacy task`, '--beads', beads, '--worktree', wt, '--wait', '--timeout', '60'],
      { env },
    );
    expect(dispatched.code, dispatched.stderr).toBe(0);
    expect(dispatched.stdout).toMatch(/^\[b\] started beads=bd-fleet-dispatch provider=sim/m);
    expect(dispatched.stderr).toMatch(/bd-fleet-dispatch: exited_ok/);
    expect(fs.existsSync(path.join(fleet.hosts.b.state, 'sim', `${beads}.meta`))).toBe(true);
    expect(fs.existsSync(path.join(box.state, 'sim', `${beads}.meta`))).toBe(false);

    const status = await box.bin(CC_GLM_JOB_BIN, ['status', '--beads', beads, '--host', 'b', '--json'], { env });
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ fleet_host: 'b', jobs: [{ beads, state: 'exited_ok' }] });
    const watchdog = await box.bin(CC_GLM_JOB_BIN, ['watchdog', '--once', '--host', 'b'], { env });
    expect(watchdog.code).toBe(1);
    expect(watchdog.stderr).toMatch(/watchdog runs on each host itself/);
  });

  it('stops a running job on its host; the prompt is in no argv and in no file outside the job', async () => {
    const beads = 'bd-fleet-stall';
    const prompt = box.prompt(`${MARKER} think forever\n`, 'fleet-stall-prompt.txt');
    const started = await startStalling('b', beads, prompt);
    expect(StartOutputSchema.parse(started.json).pid).toBeGreaterThan(0);
    await waitFor(async () => {
      const view = CheckOutputSchema.parse((await jsonOn('b', ['check', beads])).json);
      return view.outcome_state === null && view.pid !== null && view.events > 0;
    }, 'the agent on b says something');

    expect(cmdlinesContaining([MARKER])).toEqual([]);
    // the prompt files this test wrote, and each remote job's private copy (its state, 0600)
    const jobsPrivate = ['a', 'b'].map((h) => path.join(fleet.hosts[h].state, 'sim', 'bd-fleet-'));
    const leaks = filesContaining(box.dir, MARKER).filter(
      (f) => !f.endsWith('prompt.txt') && !jobsPrivate.some((p) => f.startsWith(p)),
    );
    expect(leaks).toEqual([]);
    expect((fs.statSync(path.join(fleet.hosts.b.state, 'sim', `${beads}.prompt`)).mode & 0o077) === 0).toBe(true);

    const stopped = await onHost('b', ['stop', beads]);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toMatch(/^\[b\] /m);
    const after = CheckOutputSchema.parse((await jsonOn('b', ['check', beads])).json);
    expect(after.outcome_state).not.toBeNull();
    expect(after.pid).toBeNull();
  });

  it('fleet status: one row per host side by side; a host whose sshd is gone is down with its reason', async () => {
    await fleet.hosts.c.stop(); // its sshd, ended by the ChildProcess this test started
    const r = await box.dx(['fleet', 'status', '--policy', policy, '--json'], { timeoutMs: 90_000 });
    expect(r.code).toBe(26);
    const status = FleetStatusOutputSchema.parse(JSON.parse(r.stdout));
    expect(status.hosts.map((h) => h.host)).toEqual(['local', 'a', 'b', 'c']);
    const byName = Object.fromEntries(status.hosts.map((h) => [h.host, h]));
    for (const name of ['local', 'a', 'b']) {
      expect(byName[name]).toMatchObject({ reachable: true, failure: null, json_contract_version: 1 });
      expect(byName[name].live_jobs).toBe(0);
      expect(byName[name].load).toHaveLength(3);
    }
    expect(byName.b).toMatchObject({ max_parallel: 3, providers_ok: ['sim'] });
    // one machine, one clock: no host is off by more than its answer's own time
    for (const name of ['local', 'a', 'b']) expect(Math.abs(byName[name].clock_offset_ms!)).toBeLessThan(5_000);
    expect(byName.c).toMatchObject({
      reachable: false,
      failure: { reason_code: 'host_unreachable' },
      clock_offset_ms: null,
    });
    expect(byName.c.failure?.message).toMatch(/Connection refused/);

    const human = await box.dx(['fleet', 'status', '--policy', policy], { timeoutMs: 90_000 });
    expect(human.stdout).toMatch(/^c\s+NO\s.*host_unreachable/m);
    expect(human.stdout).toMatch(/^b\s+yes\s+\S+\s+1\s+0\/3\s+sim/m);

    // a host whose clock runs 90 s ahead of this machine's says so
    const ahead = writePolicy(
      path.join(box.dir, 'policy-ahead.yaml'),
      `    a: {ssh: a, max_parallel: 2, dx_runner: ${skewedDxRunner(fleet, 'a', '+90s')}}\n`,
    );
    const skewed = await box.dx(['fleet', 'status', '--policy', ahead, '--json'], { timeoutMs: 90_000 });
    const aAhead = FleetStatusOutputSchema.parse(JSON.parse(skewed.stdout)).hosts.find((h) => h.host === 'a')!;
    expect(aAhead.clock_offset_ms! / 1000).toBeCloseTo(90, -1);
    expect((await box.dx(['fleet', 'status', '--policy', ahead], { timeoutMs: 90_000 })).stdout).toMatch(
      /^a\s+yes\s.*\s\+(89|90|91)s\s+-$/m,
    );

    const pre = await box.dx(['fleet', 'preflight', '--policy', policy, '--json'], { timeoutMs: 90_000 });
    const preflight = FleetPreflightOutputSchema.parse(JSON.parse(pre.stdout));
    expect(pre.code).toBe(26);
    const b = preflight.hosts.find((h) => h.host === 'b');
    expect(b?.chain?.selected_provider).toBe('sim');
    expect(preflight.hosts.find((h) => h.host === 'c')?.reachable).toBe(false);
    // a misspelt provider after one that passes is named now, host by host
    const misspelt = writePolicy(
      path.join(box.dir, 'policy-misspelt.yaml'),
      '    b: {ssh: b, providers: [sim, opencdoe]}\n',
    );
    const warned = await box.dx(['fleet', 'preflight', '--policy', misspelt], { timeoutMs: 90_000 });
    expect(warned.stdout, warned.stderr).toMatch(/^b\s+sim\s+ok/m);
    expect(warned.stdout).toMatch(/^warning: b: opencdoe is not an installed provider \(available: .*sim.*\)/m);

    const one = await jsonOn('c', ['check', 'bd-any']);
    expect(one.code).toBe(26);
    expect(ErrorOutputSchema.parse(one.json).error.reason_code).toBe('host_unreachable');
  });

  it('dashboard hosts view: each host asked over SSH for its live jobs and clock; a host that is down says why', async () => {
    const beads = 'bd-fleet-dash';
    const prompt = box.prompt('think forever\n', 'fleet-dash-prompt.txt');
    await startStalling('a', beads, prompt);
    // b's clock runs 90 s ahead of this machine's
    const bAhead = writePolicy(
      path.join(box.dir, 'policy-dash.yaml'),
      `    a: {ssh: a, max_parallel: 2}\n    b: {ssh: b, max_parallel: 3, providers: [sim], dx_runner: ${skewedDxRunner(fleet, 'b', '+90s')}}\n    c: {ssh: c, max_parallel: 1}\n`,
    );
    const dash = await startDashboardProcess(['--json', '--policy', bAhead], box.env);
    try {
      // the first request starts the questions; each answer lands on its own
      const hosts = await waitFor(
        async () => {
          const res = await fetch(new URL('/api/hosts', dash.url));
          const body = HostsResponseSchema.parse(await res.json());
          const byName = Object.fromEntries(body.hosts.map((h) => [h.host, h]));
          return ['a', 'b', 'c'].every((n) => byName[n]?.reachable !== null) ? byName : undefined;
        },
        'every host answered',
        45_000,
        250,
      );
      expect(Object.keys(hosts)).toEqual(['local', 'a', 'b', 'c']);
      expect(hosts.a).toMatchObject({ reachable: true, failure: null, max_parallel: 2 });
      expect(hosts.a.live_jobs).toContainEqual(expect.objectContaining({ beads, provider: 'sim', source: 'host a' }));
      expect(hosts.b).toMatchObject({ reachable: true, providers: ['sim'], live_jobs: [] });
      expect(hosts.c).toMatchObject({
        reachable: false,
        failure: { reason_code: 'host_unreachable' },
        clock_offset_ms: null,
      });
      expect(hosts.local.clock_offset_ms).toBe(0);
      expect(Math.abs(hosts.a.clock_offset_ms!)).toBeLessThan(5_000);
      expect(hosts.b.clock_offset_ms! / 1000).toBeCloseTo(90, -1);
    } finally {
      await dash.stop();
      await onHost('a', ['stop', beads]);
    }
  });

  it('refuses a changed or unknown host key, a refused key and another JSON contract', async () => {
    const stranger = path.join(fleet.dir, 'stranger_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
    fleet.alias('a-moved', fleet.hosts.a, { HostKeyAlias: 'b' }); // a answers with a key known_hosts has for b
    fleet.alias('a-unknown', fleet.hosts.a, { HostKeyAlias: 'never-seen' });
    fleet.alias('a-stranger', fleet.hosts.a, { IdentityFile: stranger });
    const futureDx = path.join(fleet.hosts.a.dir, 'bin', 'dx-runner-next');
    fs.writeFileSync(
      futureDx,
      `#!/bin/sh\necho '{"name":"@dx/cli","version":"9.0.0","root":"/opt","node":"v24","platform":"linux-x64","json_contract_version":2,"core_api_version":3,"plugins":[]}'\n`,
      { mode: 0o755 },
    );
    const ancientDx = path.join(fleet.hosts.a.dir, 'bin', 'dx-runner-old');
    fs.writeFileSync(ancientDx, `#!/bin/sh\necho "Error: command version not found" >&2\nexit 1\n`, { mode: 0o755 });
    const refusals = writePolicy(
      path.join(box.dir, 'refusals.yaml'),
      [
        '    moved: {ssh: a-moved}',
        '    unknown: {ssh: a-unknown}',
        '    stranger: {ssh: a-stranger}',
        `    next: {ssh: a, dx_runner: ${futureDx}}`,
        `    old: {ssh: a, dx_runner: ${ancientDx}}`,
        '',
      ].join('\n'),
    );
    // a fresh ssh control directory: no connection shared with the earlier calls to the same sshd
    const fresh = fs.mkdtempSync(path.join(box.dir, 'fresh-'));
    const refused = async (host: string) => {
      const r = await box.dx(['check', 'bd-x', '--host', host, '--policy', refusals, '--json'], {
        timeoutMs: 60_000,
        env: { TMPDIR: fresh },
      });
      expect(r.code, r.stdout).toBe(26);
      return ErrorOutputSchema.parse(JSON.parse(r.stdout)).error;
    };
    expect(await refused('moved')).toMatchObject({ reason_code: 'host_key_mismatch' });
    expect((await refused('unknown')).reason_code).toBe('host_key_mismatch');
    expect((await refused('stranger')).reason_code).toBe('host_auth_failed');
    const next = await refused('next');
    expect(next.reason_code).toBe('host_contract_mismatch');
    expect(next.message).toMatch(/contract 2, this one \(1\)/);
    expect(next.next_action).toBe('install_the_same_dx_runner_release_on_the_host');
    expect((await refused('old')).reason_code).toBe('host_contract_mismatch');

    // the human form is one line naming the host
    const human = await box.dx(['status', '--host', 'moved', '--policy', refusals], {
      timeoutMs: 60_000,
      env: { TMPDIR: fs.mkdtempSync(path.join(box.dir, 'fresh-')) },
    });
    expect(human.code).toBe(26);
    expect(human.stderr.trim().split('\n')).toHaveLength(1);
    expect(human.stderr).toMatch(/host moved \(a-moved\).*reason_code=host_key_mismatch/);
  });

  it('bad input: an unknown host, no ssh client, and a fleet policy with mistakes', async () => {
    const unknown = await onHost('nowhere', ['status']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/unknown host "nowhere".*local, a, b, c.*reason_code=unknown_host/);

    const emptyPath = path.join(box.dir, 'empty-path');
    fs.mkdirSync(emptyPath, { recursive: true });
    const noSsh = await onHost('a', ['status'], { PATH: emptyPath });
    expect(noSsh.code).toBe(26);
    expect(noSsh.stderr.trim().split('\n')).toHaveLength(1);
    expect(noSsh.stderr).toMatch(/no ssh client on PATH.*reason_code=ssh_not_found/);

    // --host local is this machine
    const local = await box.dx(['status', '--host', 'local', '--json', '--policy', policy]);
    expect(local.code).toBe(0);
    expect(JSON.parse(local.stdout).fleet_host).toBeUndefined();

    const bad = (name: string, yaml: string) => {
      const file = path.join(box.dir, name);
      fs.writeFileSync(file, yaml);
      return box.dx(['fleet', 'status', '--policy', file]);
    };
    const noSshKey = await bad('no-ssh.yaml', 'fleet:\n  hosts:\n    epyc6: {max_parallel: 2}\n');
    expect(noSshKey.code).toBe(1);
    expect(noSshKey.stderr).toMatch(/no-ssh\.yaml:3:\d+.*ssh/);
    const typo = await bad('typo.yaml', 'fleet:\n  hosts:\n    epyc6: {ssh: dev@epyc6, max_paralel: 2}\n');
    expect(typo.stderr).toMatch(/typo\.yaml:3:\d+.*max_paralel/);
    const localEntry = await bad('local.yaml', 'fleet:\n  hosts:\n    local: {ssh: me@here}\n');
    expect(localEntry.stderr).toMatch(/local\.yaml:3:\d+.*"local" is this machine/);
    const dup = await bad('dup.yaml', 'fleet:\n  hosts:\n    a: {ssh: a}\n    a: {ssh: b}\n');
    expect(dup.code).toBe(1);
    expect(dup.stderr).toMatch(/dup\.yaml:4:\d+/);
  });
});
