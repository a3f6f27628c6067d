import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { StatusOutputSchema, type JobView } from '@dx/core';
import { WaveReportSchema, loadWave, readLedger, wavePaths, type WaveState } from '@dx/dx-batch';
import { BD_STUB_DIR, NIGHTLY_BIN, REPO_ROOT } from '../helpers/paths.js';
import { NightReportSchema } from '@dx/nightly-dispatch';
import { createSandbox, FAST_LIMITS, git, killJobProcesses, waitFor, type Sandbox } from '../helpers/sandbox.js';
import { SSHD, skewedDxRunner, startFleet, type SshFleet } from '../helpers/sshd.js';
import { killBackgroundBatches, parseWave, spawnBatch } from '../helpers/batch.js';
import { createBeadsWorkspace } from '../helpers/beads.js';
import { writeFullDiskDxRunner } from '../helpers/full-disk.js';

/**
 * dx-batch waves over a fleet of real OpenSSH servers on 127.0.0.1 (hosts a, b, c with caps 1, 2,
 * 3): each attempt goes to a host with a free slot, every dx-runner call goes to the job's host
 * through ssh, and a host that drops mid-wave loses nothing — reconciled when it answers within
 * the grace period, given up and retried elsewhere past it (its late result recorded as
 * superseded). The simulated agent plays the scenarios of this test's folder on every host.
 */
const hasSshd = fs.existsSync(SSHD);
let box: Sandbox;
let fleet: SshFleet;
let scenarios: string;
const controlDir = () => path.join(box.dir, `dx-runner-ssh-${process.getuid?.() ?? 'user'}`);
/** A worktree base that only host a's policy allows. */
const onlyA = () => path.join(box.dir, 'agents-only-a');

function repoAt(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  git(dir, 'init', '-q');
  fs.writeFileSync(path.join(dir, 'README.md'), 'x\n');
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'initial commit');
}

/** The implement run pauses `silentSec`, then commits and reports a completed contract; the review approves. */
function writeScenarios(silentSec: number): void {
  fs.writeFileSync(
    path.join(scenarios, 'default.implement.yaml'),
    `description: implements after a pause
expect: {state: exited_ok}
steps:
  - message: "Implementing \${item}"
  - silent_sec: ${silentSec}
  - write: CHANGES-\${item}.md
    content: "\${item} attempt \${attempt}\\n"
  - commit: "\${item}: simulated implementation"
  - usage: { input: 100, output: 10 }
  - result: |-
      Implemented \${item}.
      CONTRACT:JSON:{"phase":"implement","beads_id":"\${item}","status":"completed","artifacts":{"files_changed":["CHANGES-\${item}.md"],"commits":[]},"summary":"implemented \${item}","findings":[],"timestamp":"2026-01-01T00:00:00Z"}
`,
  );
}

function policy(name: string, graceMinutes = 15, bDxRunner?: string): string {
  const file = path.join(box.dir, `${name}.yaml`);
  fs.writeFileSync(
    file,
    `fleet:
  hosts:
    a: {ssh: a, max_parallel: 1, providers: [sim]}
    b: {ssh: b, max_parallel: 2, providers: [sim]${bDxRunner ? `, dx_runner: ${bDxRunner}` : ''}}
    c: {ssh: c, max_parallel: 3, providers: [sim]}
  ssh: {config: ${fleet.config}, connect_timeout_sec: 3, control_persist_sec: 300}
  host_down_grace_minutes: ${graceMinutes}
batch:
  retry_chain: [sim]
  review_chain: [sim]
  poll_interval_sec: 0.3
`,
  );
  return file;
}

/**
 * A dx-runner for host b whose first `start` launches the job, then holds the call open (bounded,
 * 30 s) until `release` exists: the connection can be cut before the start's answer comes back.
 */
function holdFirstStartOnB(
  name: string,
  real = path.join(fleet.hosts.b.dir, 'bin', 'dx-runner'),
): { wrapper: string; launched: string; release: string } {
  const launched = path.join(box.dir, `${name}-launched`);
  const release = path.join(box.dir, `${name}-release`);
  const wrapper = path.join(box.dir, `${name}-b-dx-runner`);
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh
real='${real}'
if [ "$1" = start ] && [ ! -e '${launched}' ]; then
  "$real" "$@"; rc=$?
  : > '${launched}'
  i=0
  while [ ! -e '${release}' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  exit $rc
fi
exec "$real" "$@"
`,
    { mode: 0o755 },
  );
  return { wrapper, launched, release };
}

/**
 * A dx-runner for host b that, while `marker` exists, does `meanwhile` for one command instead of
 * answering it as before: `hang` (bounded: 2 minutes at most), or the sh given (print what no
 * dx-runner prints).
 */
function whileMarkerOnB(name: string, command: string, meanwhile: string): { wrapper: string; marker: string } {
  const marker = path.join(box.dir, `${name}-marker`);
  const wrapper = path.join(box.dir, `${name}-b-dx-runner`);
  const act =
    meanwhile === 'hang'
      ? `i=0; while [ -e '${marker}' ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done`
      : meanwhile;
  fs.writeFileSync(
    wrapper,
    `#!/bin/sh
if [ "$1" = ${command} ] && [ -e '${marker}' ]; then ${act}; fi
exec '${path.join(fleet.hosts.b.dir, 'bin', 'dx-runner')}' "$@"
`,
    { mode: 0o755 },
  );
  return { wrapper, marker };
}

function startArgs(wave: string, ids: string[], hosts: string, policyFile: string, extra: string[] = []): string[] {
  for (const id of ids) box.worktree(id);
  return [
    'start',
    '--items',
    ids.join(','),
    '--hosts',
    hosts,
    '--wave-id',
    wave,
    '--worktree-base',
    box.agents,
    '--policy',
    policyFile,
    ...extra,
  ];
}

const batchRoot = () => path.join(box.dir, 'batch');
function waveState(wave: string): WaveState | undefined {
  try {
    return loadWave(wavePaths(batchRoot(), wave));
  } catch {
    return undefined;
  }
}
const ledgerEvents = (wave: string, id: string) => {
  const paths = wavePaths(batchRoot(), wave);
  return fs.existsSync(paths.ledgers) ? readLedger(paths, id) : [];
};

/** Host b drops off the network: its sshd ends and the shared connection closes; with `wave`, until that wave marks it down. */
async function dropHostB(wave?: string): Promise<void> {
  await fleet.hosts.b.stop();
  fleet.disconnect(controlDir(), 'b');
  if (wave)
    await waitFor(() => waveState(wave)?.hosts.find((h) => h.host === 'b')?.status === 'down', 'b marked down', 60_000);
}

/** A host's own record of its jobs (asked of its dx-runner over ssh). */
async function hostJobs(host: string, policyFile: string): Promise<JobView[]> {
  const r = await box.dx(['status', '--recent', '200', '--json', '--host', host, '--policy', policyFile], {
    timeoutMs: 60_000,
  });
  expect(r.code, r.stderr).toBe(0);
  return StatusOutputSchema.parse(JSON.parse(r.stdout)).jobs;
}

function maxOverlap(jobs: JobView[]): number {
  const spans = jobs.map((j) => [Date.parse(j.started_at!), Date.parse(j.completed_at!)] as const);
  return Math.max(0, ...spans.map(([s]) => spans.filter(([s2, e2]) => s2 <= s && s < e2).length));
}

describe.runIf(hasSshd || process.env.CI)('dx-batch across a fleet over OpenSSH', () => {
  beforeAll(async () => {
    box = createSandbox();
    scenarios = path.join(box.dir, 'scenarios');
    fs.mkdirSync(scenarios);
    fs.copyFileSync(
      path.join(REPO_ROOT, 'packages/dx-batch/demo/default.review.yaml'),
      path.join(scenarios, 'default.review.yaml'),
    );
    fleet = await startFleet(path.join(box.dir, 'fleet'), ['a', 'b', 'c'], (name) => ({
      ...FAST_LIMITS,
      DX_RUNNER_DATA_DIR: inject('pluginDataDir'),
      // only host a may work in onlyA(): the others answer that its worktrees are outside their prefixes
      DX_RUNNER_EXTRA_ALLOWED_PREFIXES: name === 'a' ? `${box.agents},${onlyA()}` : box.agents,
      DX_RUNNER_STARTUP_GRACE_SEC: '1',
      DX_RUNNER_FINAL_EXIT_GRACE_SEC: '1',
      DX_SIM_SCENARIOS: scenarios,
    }));
  }, 60_000);

  afterAll(async () => {
    killBackgroundBatches();
    for (const host of Object.values(fleet?.hosts ?? {})) killJobProcesses(host.state);
    await fleet?.cleanup([controlDir()]);
    await box?.cleanup();
  }, 60_000);

  it('a wave of 12 items over 3 hosts: every item approved, no host above its cap, each attempt’s host reported', async () => {
    writeScenarios(1);
    const p = policy('caps');
    const ids = Array.from({ length: 12 }, (_, i) => `fl-${String(i + 1).padStart(2, '0')}`);
    const r = await box.batch([...startArgs('w-caps', ids, 'a,b,c', p, ['--max-parallel', '6']), '--json'], {
      timeoutMs: 300_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const wave = parseWave(r.stdout);
    expect(wave.items.map((i) => i.status)).toEqual(ids.map(() => 'APPROVED'));
    for (const item of wave.items) {
      expect(item.attempts.map((a) => a.phase)).toEqual(['implement', 'review']);
      // the review ran where the implement did (that host has the commit)
      expect(item.attempts[1].host).toBe(item.attempts[0].host);
    }
    const caps: Record<string, number> = { a: 1, b: 2, c: 3 };
    for (const host of ['a', 'b', 'c']) {
      const mine = wave.items.filter((i) => i.attempts[0].host === host).map((i) => i.beads_id);
      expect(mine.length, `host ${host} got work`).toBeGreaterThan(0);
      // from the host's own state: its jobs are exactly this wave's attempts there, never above its cap
      const jobs = (await hostJobs(host, p)).filter((j) => j.beads.startsWith('fl-'));
      expect(jobs.map((j) => j.beads).sort()).toEqual(mine.flatMap((id) => [id, `${id}-review`]).sort());
      expect(maxOverlap(jobs), `host ${host}`).toBeLessThanOrEqual(caps[host]);
    }
    const report = WaveReportSchema.parse(
      JSON.parse((await box.batch(['report', '--wave-id', 'w-caps', '--format', 'json'])).stdout),
    );
    expect(report.hosts.map((h) => [h.host, h.status, h.max_parallel])).toEqual([
      ['a', 'up', 1],
      ['b', 'up', 2],
      ['c', 'up', 3],
    ]);
    for (const item of report.items) expect(item.hosts).toHaveLength(1);
    const md = (await box.batch(['report', '--wave-id', 'w-caps'])).stdout;
    expect(md).toMatch(/\| fl-01 \| APPROVED \|.*\| sim \| [abc] \|/);
  }, 300_000);

  it('a provider of the chain that no host of the wave may run is passed over, and the hosts say why', async () => {
    writeScenarios(1);
    // every host runs sim only: opencode, first in the chain, runs nowhere in this wave
    const p = policy('not-allowed').replace(/\.yaml$/, '-chain.yaml');
    fs.writeFileSync(
      p,
      fs.readFileSync(policy('not-allowed'), 'utf8').replace('retry_chain: [sim]', 'retry_chain: [opencode, sim]'),
    );
    const r = await box.batch([...startArgs('w-not-allowed', ['na-1'], 'a,b', p), '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const wave = parseWave(r.stdout);
    expect(wave.items.map((i) => [i.status, i.attempts.map((a) => a.provider)])).toEqual([
      ['APPROVED', ['sim', 'sim']],
    ]);
    expect(
      wave.preflight.filter((x) => x.provider === 'opencode').map((x) => [x.host, x.available, x.reason_code]),
    ).toEqual([
      ['a', false, 'provider_not_allowed_on_host'],
      ['b', false, 'provider_not_allowed_on_host'],
    ]);
  }, 180_000);

  it.each([
    ['is BLOCKED past the review chain, not waited for', 're-1', '[opencode]'],
    ['goes to the next provider of the review chain', 're-2', '[opencode, sim]'],
  ])(
    "a review whose provider its implement's host does not run, and no host that does has the commit, %s",
    async (_, id, chain) => {
      writeScenarios(1);
      // b also runs opencode (played by the simulator); a, where the implement runs, runs sim only.
      // b's disk is its own: its copy of the item's repository (here: another clone) lacks a's commit
      const bCopy = path.join(box.dir, 'b-disk', id, 'repo');
      repoAt(bCopy);
      const bWithOpencode = path.join(box.dir, 'b-opencode-dx-runner');
      fs.writeFileSync(
        bWithOpencode,
        [
          '#!/bin/sh',
          // baseline-gate --worktree W --required-baseline C --json, asked of b's own copy
          `if [ "$1" = baseline-gate ]; then set -- "$1" "$2" '${bCopy}' "$4" "$5" "$6"; fi`,
          `DX_RUNNER_SIMULATE=opencode=success exec '${path.join(fleet.hosts.b.dir, 'bin', 'dx-runner')}' "$@"`,
          '',
        ].join('\n'),
        { mode: 0o755 },
      );
      const p = path.join(box.dir, 'review-elsewhere.yaml');
      fs.writeFileSync(
        p,
        fs
          .readFileSync(policy('review-elsewhere-base'), 'utf8')
          .replace(
            / {4}b: \{[^\n]*\}/,
            `    b: {ssh: b, max_parallel: 2, providers: [sim, opencode], dx_runner: ${bWithOpencode}}`,
          )
          .replace('review_chain: [sim]', `review_chain: ${chain}`),
      );
      // the item's worktree is on a's disk only (only a's policy allows that base): b cannot have its commit
      repoAt(path.join(onlyA(), id, 'repo'));
      const r = await box.batch(
        [
          'start',
          '--items',
          id,
          '--hosts',
          'a,b',
          '--wave-id',
          `w-review-elsewhere-${id}`,
          '--worktree-base',
          onlyA(),
        ].concat(['--policy', p, '--json']),
        { timeoutMs: 120_000 },
      );
      const item = parseWave(r.stdout).items[0];
      const asked = /^opencode does not run on a, where the implement ran, and no host .* \(asked: b\)$/;
      const skipped = ledgerEvents(`w-review-elsewhere-${id}`, id).filter((e) => e.event === 'provider_skipped');
      expect(skipped.map((e) => [e.provider, e.next_provider ?? null, e.state])).toEqual([
        ['opencode', chain === '[opencode]' ? null : 'sim', chain === '[opencode]' ? 'BLOCKED' : 'REVIEW_QUEUED'],
      ]);
      if (chain === '[opencode]') {
        expect(r.code, r.stdout + r.stderr).not.toBe(0);
        expect(item.attempts.map((a) => [a.phase, a.host, a.result])).toEqual([['implement', 'a', 'exited_ok']]);
        expect(item).toMatchObject({ status: 'BLOCKED', reason_code: 'no_host_for_review' });
        expect(item.error).toMatch(asked);
        return;
      }
      // the review the implement's host can give: sim, on a, where the commit is
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(item.attempts.map((a) => [a.phase, a.provider, a.host, a.result])).toEqual([
        ['implement', 'sim', 'a', 'exited_ok'],
        ['review', 'sim', 'a', 'exited_ok'],
      ]);
      expect(item.status).toBe('APPROVED');
      expect(String(skipped[0]?.detail)).toMatch(asked);
    },
    180_000,
  );

  it('an item that waits for a host says which hosts it waits for, once', async () => {
    writeScenarios(1);
    const p = policy('waits');
    // a takes one at a time: the second item waits for it (the progress lines go to stderr; --json is silent)
    const r = await box.batch(startArgs('w-waits', ['wt-1', 'wt-2'], 'a', p, ['--max-parallel', '2']), {
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(0);
    expect(waveState('w-waits')!.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
    const said = r.stderr.split('\n').filter((l) => / waits for /.test(l));
    expect(said.length).toBeGreaterThan(0);
    expect(said[0]).toMatch(/ wt-[12] waits for a host \(sim on a 1\/1\)$/);
    // said once per wait (at most once per item and phase), not every cycle (0.3 s polls over seconds)
    expect(said.length).toBeLessThanOrEqual(4);
  }, 180_000);

  it('an attempt goes only to a host whose own disk has the item’s worktree (each host is asked); none → BLOCKED with every answer', async () => {
    writeScenarios(0.5);
    const p = policy('where');
    for (const id of ['wh-1', 'wh-2']) repoAt(path.join(onlyA(), id, 'repo'));
    const r = await box.batch(
      [
        'start',
        '--items',
        'wh-1,wh-2,wh-none',
        '--hosts',
        'b,c,a',
        '--wave-id',
        'w-where',
        '--worktree-base',
        onlyA(),
        '--policy',
        p,
        '--max-parallel',
        '3',
        '--json',
      ],
      { timeoutMs: 200_000 },
    );
    // b and c have free slots and the lower load, but only a's policy allows that base
    expect(r.code, r.stdout + r.stderr).toBe(3);
    const wave = parseWave(r.stdout);
    const byId = Object.fromEntries(wave.items.map((i) => [i.beads_id, i]));
    for (const id of ['wh-1', 'wh-2']) {
      expect(byId[id].status, JSON.stringify(byId[id])).toBe('APPROVED');
      expect(byId[id].attempts.map((a) => a.host)).toEqual(['a', 'a']);
    }
    expect(byId['wh-none']).toMatchObject({ status: 'BLOCKED', reason_code: 'worktree_missing' });
    // every host's own answer is kept
    expect(byId['wh-none'].error).toMatch(/^b: no git worktree.*; c: no git worktree.*; a: no git worktree/);
    expect(ledgerEvents('w-where', 'wh-none').map((e) => e.to)).toContain('BLOCKED');
    // host b's own answer, asked directly
    const asked = await box.dx(
      ['worktree-gate', '--beads', 'wh-1', '--base', onlyA(), '--host', 'b', '--policy', p, '--json'],
      { timeoutMs: 60_000 },
    );
    expect(asked.code).toBe(1);
    expect(JSON.parse(asked.stdout)).toMatchObject({
      passed: false,
      reason_code: 'worktree_outside_allowed_prefixes',
      fleet_host: 'b',
    });
  }, 240_000);

  it('no host of the wave answers: the wave fails no_host_available before dispatching anything', async () => {
    const p = policy('none');
    const file = path.join(box.dir, 'none-hosts.yaml');
    fs.writeFileSync(
      file,
      fs
        .readFileSync(p, 'utf8')
        .replace('  hosts:\n', '  hosts:\n    gone: {ssh: gone.invalid, max_parallel: 2, providers: [sim]}\n'),
    );
    const r = await box.batch([...startArgs('w-none', ['nh-1'], 'gone', file), '--json'], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    const wave = waveState('w-none')!;
    expect(wave.status).toBe('failed');
    expect(wave.reason_code).toBe('no_host_available');
    expect(wave.hosts).toEqual([expect.objectContaining({ host: 'gone', status: 'skipped' })]);
    expect(wave.items[0].attempts).toEqual([]);
    expect(r.stdout).toContain('no_host_available');
  }, 120_000);

  it('a host that drops mid-wave and answers again within the grace period: reconciled, nothing runs twice', async () => {
    writeScenarios(4);
    const p = policy('drop');
    const ids = ['dr-1', 'dr-2', 'dr-3', 'dr-4'];
    const run = spawnBatch(box, startArgs('w-drop', ids, 'a,b', p, ['--max-parallel', '3']));
    // b (cap 2) gets two of the first three attempts; cut it off while they run
    await waitFor(
      () => {
        const state = waveState('w-drop');
        return state?.items.filter((i) => i.host === 'b' && i.run_instance).length === 2;
      },
      'two attempts running on b',
      60_000,
    );
    const onB = waveState('w-drop')!
      .items.filter((i) => i.host === 'b')
      .map((i) => i.beads_id);
    await dropHostB('w-drop');
    // the jobs on b go on without anybody watching; b comes back
    await fleet.hosts.b.start();

    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    const wave = waveState('w-drop')!;
    expect(wave.items.map((i) => i.status)).toEqual(ids.map(() => 'APPROVED'));
    expect(wave.hosts.find((h) => h.host === 'b')?.status).toBe('up');
    for (const item of wave.items) expect(item.attempts.map((a) => a.phase)).toEqual(['implement', 'review']);
    for (const id of onB) {
      const item = wave.items.find((i) => i.beads_id === id)!;
      expect(item.attempts[0]).toMatchObject({ host: 'b', result: 'exited_ok' });
      expect(ledgerEvents('w-drop', id).map((e) => e.event)).toContain('host_unreachable');
    }
    // from b's own state: each of its jobs ran once
    const jobs = (await hostJobs('b', p)).filter((j) => j.beads.startsWith('dr-'));
    for (const job of jobs) expect(job.retries).toBe(0);
    expect(jobs.map((j) => j.beads).sort()).toEqual(onB.flatMap((id) => [id, `${id}-review`]).sort());
  }, 300_000);

  it('a host whose clock is 30 s behind this one: its jobs are followed by their run instance, each runs once', async () => {
    writeScenarios(2);
    const behind = skewedDxRunner(fleet, 'b', '-30s');
    const p = policy('skew', 15, behind);
    const ids = ['sk-1', 'sk-2'];
    const r = await box.batch([...startArgs('w-skew', ids, 'b', p, ['--max-parallel', '2']), '--json'], {
      timeoutMs: 200_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const wave = parseWave(r.stdout);
    expect(wave.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
    for (const item of wave.items)
      expect(item.attempts.map((a) => [a.phase, a.host])).toEqual([
        ['implement', 'b'],
        ['review', 'b'],
      ]);
    for (const id of ids) expect(ledgerEvents('w-skew', id).map((e) => e.event)).not.toContain('job_missing');
    // from b's own state: each job ran once, dated by b's clock
    const jobs = (await hostJobs('b', p)).filter((j) => j.beads.startsWith('sk-'));
    expect(jobs.map((j) => [j.beads, j.retries]).sort()).toEqual(
      ids
        .flatMap((id) => [
          [id, 0],
          [`${id}-review`, 0],
        ])
        .sort(),
    );
    for (const job of jobs) expect(Date.parse(job.started_at!)).toBeLessThan(Date.now() - 20_000);
  }, 200_000);

  it('a host gone past the grace period: its attempts are retried elsewhere, its late result recorded as superseded', async () => {
    writeScenarios(3);
    const p = policy('lost', 0.1);
    const ids = ['ls-1', 'ls-2'];
    // a (cap 1) takes ls-1, b takes ls-2
    const run = spawnBatch(box, startArgs('w-lost', ids, 'a,b', p, ['--max-parallel', '2']));
    await waitFor(
      () => waveState('w-lost')?.items.find((i) => i.beads_id === 'ls-2')?.run_instance,
      'ls-2 running on b',
      60_000,
    );
    expect(waveState('w-lost')!.items.find((i) => i.beads_id === 'ls-2')!.host).toBe('b');
    await dropHostB();
    await waitFor(() => ledgerEvents('w-lost', 'ls-2').some((e) => e.event === 'host_lost'), 'ls-2 given up', 60_000);
    // b returns while the wave still runs: ls-2's job there has finished meanwhile
    await fleet.hosts.b.start();

    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    const wave = waveState('w-lost')!;
    expect(wave.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
    const ls2 = wave.items.find((i) => i.beads_id === 'ls-2')!;
    expect(ls2.attempts.map((a) => [a.phase, a.host, a.result])).toEqual([
      ['implement', 'b', 'host_lost'],
      ['implement', 'a', 'exited_ok'],
      ['review', 'a', 'exited_ok'],
    ]);
    expect(ls2.implement_failures).toBe(0);
    const ledger = ledgerEvents('w-lost', 'ls-2');
    const superseded = ledger.find((e) => e.event === 'superseded_result');
    expect(superseded, JSON.stringify(ledger.map((e) => e.event))).toMatchObject({ host: 'b', attempt: 1 });
    expect(superseded?.detail).toMatch(/exited_ok.*not applied/);
    expect(wave.lost_jobs).toEqual([]);
  }, 300_000);

  it('a host whose status hangs (a stuck mount, a network dropping packets) holds up none of the others', async () => {
    writeScenarios(1);
    // while `stuck` exists, b's status answers nothing
    const { wrapper, marker: stuck } = whileMarkerOnB('stuck', 'status', 'hang');
    const p = policy('stuck', 15, wrapper);
    const ids = ['st-1', 'st-2'];
    const run = spawnBatch(box, startArgs('w-stuck', ids, 'a,b', p, ['--max-parallel', '2']));
    const onB = () => waveState('w-stuck')?.items.find((i) => i.host === 'b' && i.run_instance);
    await waitFor(() => onB() && waveState('w-stuck')?.items.every((i) => i.run_instance), 'both running', 60_000);
    fs.writeFileSync(stuck, '');
    const other = ids.find((id) => id !== onB()!.beads_id)!;
    // the item on a is implemented, reviewed and approved while b's status still hangs
    await waitFor(
      () => waveState('w-stuck')?.items.find((i) => i.beads_id === other)?.status === 'APPROVED',
      `${other} approved on a while b hangs`,
      60_000,
    );
    expect(waveState('w-stuck')!.items.find((i) => i.host === 'b')!.status).not.toBe('APPROVED');
    fs.rmSync(stuck);
    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    const wave = waveState('w-stuck')!;
    expect(wave.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
    // b's item was followed through, not given up
    expect(wave.items.find((i) => i.attempts[0].host === 'b')!.attempts.map((a) => a.result)).toEqual([
      'exited_ok',
      'exited_ok',
    ]);
  }, 300_000);

  it('a host whose worktree question hangs holds up no other host either', async () => {
    writeScenarios(1);
    // while `stuck` exists, b's worktree-gate answers nothing
    const { wrapper, marker: stuck } = whileMarkerOnB('stuck-wt', 'worktree-gate', 'hang');
    fs.writeFileSync(stuck, '');
    const p = policy('stuck-wt', 15, wrapper);
    const ids = ['sw-1', 'sw-2'];
    // a (cap 1) takes sw-1; sw-2 is asked of b, which does not answer
    const run = spawnBatch(box, startArgs('w-stuck-wt', ids, 'a,b', p, ['--max-parallel', '2']));
    await waitFor(
      () => waveState('w-stuck-wt')?.items.find((i) => i.beads_id === 'sw-1')?.status === 'APPROVED',
      'sw-1 approved on a while b does not answer',
      60_000,
    );
    fs.rmSync(stuck);
    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    expect(waveState('w-stuck-wt')!.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
    // and it said what it waited for
    expect(done.stderr).toMatch(/ sw-2 waits for an answer about its worktree \(b: no answer yet\)$/m);
  }, 300_000);

  it('a host whose start hangs holds up no other host: the start goes on, and its answer is taken when it comes', async () => {
    writeScenarios(1);
    // while `stuck` exists, b's dx-runner start answers nothing (then launches as usual)
    const { wrapper, marker: stuck } = whileMarkerOnB('stuck-start', 'start', 'hang');
    fs.writeFileSync(stuck, '');
    const p = policy('stuck-start', 15, wrapper);
    const ids = ['ss-1', 'ss-2'];
    const run = spawnBatch(box, startArgs('w-stuck-start', ids, 'a,b', p, ['--max-parallel', '2']));
    const onB = () => waveState('w-stuck-start')?.items.find((i) => i.host === 'b');
    await waitFor(() => onB(), 'an item placed on b', 60_000);
    const other = ids.find((id) => id !== onB()!.beads_id)!;
    // the item on a is implemented, reviewed and approved while b's start has not answered
    await waitFor(
      () => waveState('w-stuck-start')?.items.find((i) => i.beads_id === other)?.status === 'APPROVED',
      `${other} approved on a while b's start hangs`,
      60_000,
    );
    expect(onB()).toMatchObject({ status: 'IMPLEMENTING', run_instance: null });
    fs.rmSync(stuck);
    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    const wave = waveState('w-stuck-start')!;
    expect(wave.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
    // b's start answered late and its job was followed: one implement there, not a second start
    expect(wave.items.find((i) => i.beads_id !== other)!.attempts.map((a) => [a.phase, a.host, a.result])).toEqual([
      ['implement', 'b', 'exited_ok'],
      ['review', 'b', 'exited_ok'],
    ]);
  }, 300_000);

  it('a host whose dx-runner stops answering status (garbage, an error) is a host gone: its attempts move on', async () => {
    writeScenarios(3);
    // b's dx-runner answers every call as before until `broken` exists; then its status prints what
    // no dx-runner prints (a login banner, a broken install) and exits 1
    const { wrapper, marker: broken } = whileMarkerOnB(
      'garbled',
      'status',
      "echo 'Welcome to b! Last login: yesterday'; exit 1",
    );
    const p = policy('garbled', 0.1, wrapper);
    const ids = ['gb-1', 'gb-2'];
    const run = spawnBatch(box, startArgs('w-garbled', ids, 'a,b', p, ['--max-parallel', '2']));
    await waitFor(
      () => waveState('w-garbled')?.items.find((i) => i.beads_id === 'gb-2')?.run_instance,
      'gb-2 running on b',
      60_000,
    );
    expect(waveState('w-garbled')!.items.find((i) => i.beads_id === 'gb-2')!.host).toBe('b');
    fs.writeFileSync(broken, '');
    await waitFor(
      () => ledgerEvents('w-garbled', 'gb-2').some((e) => e.event === 'host_lost'),
      'gb-2 given up',
      60_000,
    );
    expect(waveState('w-garbled')!.hosts.find((h) => h.host === 'b')).toMatchObject({
      status: 'down',
      reason_code: 'host_dx_runner_failing',
    });
    // b stays broken a while: the wave goes on without it (gb-2 elsewhere), asking after the lost job
    await waitFor(
      () => waveState('w-garbled')?.items.find((i) => i.beads_id === 'gb-2')?.host === 'a',
      'gb-2 moved to a',
      60_000,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    fs.rmSync(broken);

    const done = await run.done;
    expect(done.code, done.stderr).toBe(0);
    const wave = waveState('w-garbled')!;
    expect(wave.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
    expect(wave.items.find((i) => i.beads_id === 'gb-2')!.attempts[0]).toMatchObject({
      host: 'b',
      result: 'host_lost',
    });
    expect(wave.lost_jobs).toEqual([]);
  }, 300_000);

  it.each([
    ['', undefined],
    [', on a host whose clock is 30 s behind', '-30s'],
  ])(
    'a start cut off mid-call on a host%s: the job it launched there anyway is followed and stopped, not left running',
    async (_, skew) => {
      writeScenarios(8);
      const name = skew ? 'cut-skew' : 'cut';
      const { wrapper, launched, release } = holdFirstStartOnB(
        name,
        skew ? skewedDxRunner(fleet, 'b', skew) : undefined,
      );
      const p = policy(name, 15, wrapper);
      const ids = skew ? ['cs-1', 'cs-2'] : ['ct-1', 'ct-2'];
      // a (cap 1) takes one item, b the other
      const run = spawnBatch(box, startArgs(`w-${name}`, ids, 'a,b', p, ['--max-parallel', '2']));
      await waitFor(() => fs.existsSync(launched), "b's first start launched its job", 60_000);
      const onB = waveState(`w-${name}`)!.items.find((i) => i.host === 'b')!.beads_id;
      // the connection drops before the start's answer comes back
      await dropHostB(`w-${name}`);
      fs.writeFileSync(release, '');
      await fleet.hosts.b.start();

      const done = await run.done;
      expect(done.code, done.stderr).toBe(0);
      const wave = waveState(`w-${name}`)!;
      expect(wave.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
      expect(wave.lost_jobs).toEqual([]);
      // b answers again while that job still pauses: it is stopped, and the ledger says so
      const superseded = ledgerEvents(`w-${name}`, onB).find((e) => e.event.startsWith('superseded_'));
      expect(superseded, JSON.stringify(ledgerEvents(`w-${name}`, onB).map((e) => e.event))).toMatchObject({
        event: 'superseded_job_stopped',
        host: 'b',
        job_beads: onB,
      });
      // from b's own state: the job the cut-off start launched is there, and nothing is left running
      const jobs = (await hostJobs('b', p)).filter((j) => ids.some((id) => j.beads.startsWith(id)));
      expect(jobs.map((j) => j.beads)).toContain(onB);
      expect(jobs.filter((j) => j.outcome_state === null)).toEqual([]);
    },
    300_000,
  );

  it('kill -9 of dx-batch mid-wave with jobs on two hosts, then resume: every item finishes exactly once', async () => {
    writeScenarios(2);
    const p = policy('kill');
    const ids = ['k-1', 'k-2', 'k-3', 'k-4'];
    const run = spawnBatch(box, startArgs('w-kill', ids, 'b,c', p, ['--max-parallel', '4']));
    await waitFor(
      () => {
        const hosts = new Set(
          waveState('w-kill')
            ?.items.filter((i) => i.run_instance)
            .map((i) => i.host),
        );
        return hosts.has('b') && hosts.has('c');
      },
      'jobs running on b and c',
      60_000,
    );
    run.child.kill('SIGKILL');
    expect((await run.done).signal).toBe('SIGKILL');

    const r = await box.batch(['resume', '--wave-id', 'w-kill', '--policy', p, '--json'], { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    const wave = parseWave(r.stdout);
    expect(wave.items.map((i) => i.status)).toEqual(ids.map(() => 'APPROVED'));
    for (const item of wave.items) expect(item.attempts.map((a) => a.phase)).toEqual(['implement', 'review']);
    for (const host of ['b', 'c']) {
      const jobs = (await hostJobs(host, p)).filter((j) => j.beads.startsWith('k-'));
      for (const job of jobs) expect(job.retries, `${host} ${job.beads}`).toBe(0);
    }
    const ran = (await Promise.all(['b', 'c'].map((h) => hostJobs(h, p)))).flat().filter((j) => /^k-\d$/.test(j.beads));
    expect(ran.map((j) => j.beads).sort()).toEqual(ids);
  }, 300_000);

  it('a night over 2 hosts with the bd stub: claims, the host of each item, the morning report', async () => {
    const workspace = createBeadsWorkspace(path.join(box.dir, 'night-ws'), 'nt');
    const beads = { BEADS_DIR: workspace.beadsDir };
    const ids = ['nt-1', 'nt-2', 'nt-3', 'nt-4'];
    for (const id of ids) {
      workspace.create(id);
      box.worktree(id);
    }
    const p = policy('night');
    fs.appendFileSync(
      p,
      'nightly:\n  provider_chain: [sim]\n  hosts: [a, b]\n  max_items: 3\n  max_parallel: 3\n  max_parallel_post_migration: 3\n  ack_timeout_sec: 30\n  alert_on_dispatch_complete: false\n',
    );
    const r = await box.bin(NIGHTLY_BIN, ['run', '--json'], {
      env: {
        ...beads,
        DX_POLICY_FILE: p,
        NIGHTLY_DISPATCH_DIR: path.join(box.dir, 'nightly'),
        PATH: `${BD_STUB_DIR}:${box.env.PATH}`,
      },
      timeoutMs: 180_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const night = NightReportSchema.parse(JSON.parse(r.stdout));
    expect(night.counts).toMatchObject({ ready: 4, claimed: 3, dispatched: 3 });
    expect(night.hosts.map((h) => [h.host, h.reachable, h.passing, h.max_parallel])).toEqual([
      ['a', true, ['sim'], 1],
      ['b', true, ['sim'], 2],
    ]);
    // least loaded first: a (0/1), then b twice (a is full)
    const dispatched = night.items.filter((i) => i.action === 'dispatched');
    expect(dispatched.map((i) => [i.beads_id, i.host])).toEqual([
      ['nt-1', 'a'],
      ['nt-2', 'b'],
      ['nt-3', 'b'],
    ]);
    expect(night.items.find((i) => i.beads_id === 'nt-4')?.reason).toMatch(/max_items_reached/);
    // claimed in beads, and running on the host that was named
    for (const [id, host] of dispatched.map((i) => [i.beads_id, i.host!])) {
      const shown = JSON.parse(workspace.bd('show', id, '--json'))[0];
      expect(shown.status).toBe('in_progress');
      expect((await hostJobs(host, p)).map((j) => j.beads)).toContain(id);
    }
    const md = fs.readFileSync(night.report_files.markdown, 'utf8');
    expect(md).toMatch(/## Hosts/);
    expect(md).toMatch(/\| nt-2 \| dispatched \| - \| sim \| b \|/);
  }, 300_000);

  it('a night where one host’s state root is full: its claim goes back, that host takes nothing more, the others go on', async () => {
    const workspace = createBeadsWorkspace(path.join(box.dir, 'full-night-ws'), 'fn');
    const ids = ['fn-1', 'fn-2', 'fn-3'];
    for (const id of ids) {
      workspace.create(id);
      box.worktree(id);
    }
    // host b's dx-runner answers every start as a full state root does
    const full = writeFullDiskDxRunner(path.join(box.dir, 'full-b-dx-runner'), [
      path.join(fleet.hosts.b.dir, 'bin', 'dx-runner'),
    ]);
    const p = policy('full-night', 15, full);
    fs.appendFileSync(
      p,
      'nightly:\n  provider_chain: [sim]\n  hosts: [a, b]\n  max_items: 3\n  max_parallel: 3\n  max_parallel_post_migration: 3\n  ack_timeout_sec: 30\n  alert_on_dispatch_complete: false\n',
    );
    const r = await box.bin(NIGHTLY_BIN, ['run', '--json'], {
      env: {
        BEADS_DIR: workspace.beadsDir,
        DX_POLICY_FILE: p,
        NIGHTLY_DISPATCH_DIR: path.join(box.dir, 'full-nightly'),
        PATH: `${BD_STUB_DIR}:${box.env.PATH}`,
      },
      timeoutMs: 180_000,
    });
    try {
      const night = NightReportSchema.parse(JSON.parse(r.stdout));
      expect(night.items.map((i) => [i.beads_id, i.action, i.host])).toEqual([
        ['fn-1', 'dispatched', 'a'],
        ['fn-2', 'failed', 'b'],
        ['fn-3', 'skipped', null],
      ]);
      expect(night.items[1]).toMatchObject({ claim_released: true, reason: expect.stringMatching(/^disk_full: /) });
      // a is at its cap and b is out of room: fn-3 is not claimed only to be refused on b again
      expect(night.items[2].reason).toBe('no_host_free (a 1/1, b out of room)');
      for (const id of ['fn-2', 'fn-3']) expect(JSON.parse(workspace.bd('show', id, '--json'))[0].status).toBe('open');
    } finally {
      await box.dx(['stop', '--beads', 'fn-1', '--host', 'a', '--policy', p, '--json'], { timeoutMs: 60_000 });
    }
  }, 300_000);

  it('a night whose start on a host is cut off and the host cannot be asked: the claim is kept, never released', async () => {
    writeScenarios(30);
    const workspace = createBeadsWorkspace(path.join(box.dir, 'cut-night-ws'), 'cn');
    const ids = ['cn-1', 'cn-2'];
    for (const id of ids) {
      workspace.create(id);
      box.worktree(id);
    }
    const { wrapper, launched, release } = holdFirstStartOnB('cut-night');
    const p = policy('cut-night', 15, wrapper);
    fs.appendFileSync(
      p,
      'nightly:\n  provider_chain: [sim]\n  hosts: [a, b]\n  max_items: 2\n  max_parallel: 3\n  max_parallel_post_migration: 3\n  ack_timeout_sec: 30\n  alert_on_dispatch_complete: false\n',
    );
    const night = box.bin(NIGHTLY_BIN, ['run', '--json'], {
      env: {
        BEADS_DIR: workspace.beadsDir,
        DX_POLICY_FILE: p,
        NIGHTLY_DISPATCH_DIR: path.join(box.dir, 'cut-nightly'),
        PATH: `${BD_STUB_DIR}:${box.env.PATH}`,
      },
      timeoutMs: 180_000,
    });
    await waitFor(() => fs.existsSync(launched), "b's start launched its job", 60_000);
    // the connection drops before the answer, and b stays silent while the night asks after the job
    await dropHostB();
    const r = await night;
    fs.writeFileSync(release, '');
    await fleet.hosts.b.start();
    try {
      const report = NightReportSchema.parse(JSON.parse(r.stdout));
      const onB = report.items.find((i) => i.host === 'b')!;
      expect(onB).toMatchObject({ action: 'failed', claim_released: false });
      expect(onB.reason).toMatch(/^host_unreachable: .*may have launched the job there/);
      // still claimed in beads: nobody takes it again while its job may run
      expect(JSON.parse(workspace.bd('show', onB.beads_id, '--json'))[0].status).toBe('in_progress');
      // and it did launch there
      expect((await hostJobs('b', p)).map((j) => j.beads)).toContain(onB.beads_id);
      expect(report.items.find((i) => i.host === 'a')).toMatchObject({ action: 'dispatched' });
    } finally {
      for (const id of ids)
        for (const host of ['a', 'b'])
          await box.dx(['stop', '--beads', id, '--host', host, '--policy', p, '--json'], { timeoutMs: 60_000 });
    }
  }, 300_000);
});
