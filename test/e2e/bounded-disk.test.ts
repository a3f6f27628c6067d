/**
 * Bounded disk: a flooding agent's log stays within limits.max_log_mb (head, marker, tail) while its
 * events are still parsed; past limits.max_output_mb it is stopped; retention removes exactly the
 * old finished records; start refuses when free space is below limits.min_free_mb; a disk that
 * fills up under a job still ends it cleanly with a valid outcome.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckOutputSchema,
  DiskOutputSchema,
  jobPaths,
  LogsOutputSchema,
  OutcomeSchema,
  parseKv,
  PruneOutputSchema,
  ReleaseOutputSchema,
  serializeKv,
} from '@dx/core';
import { BatchPruneOutputSchema } from '@dx/dx-batch';
import { NightlyPruneOutputSchema } from '@dx/nightly-dispatch';
import { BATCH_BIN, CLI_BIN, NIGHTLY_BIN, REPO_ROOT } from '../helpers/paths.js';
import {
  createSandbox,
  waitFor,
  WITHOUT_DAC_OVERRIDE,
  WITHOUT_OWNER_OVERRIDE,
  type Sandbox,
} from '../helpers/sandbox.js';
import { pidNamespace } from '../chaos/helpers.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const MB = 1024 * 1024;
const LINE = 'flood: the agent repeats itself again and again and again and again and again\n';

function policy(limits: Record<string, number>, extra = ''): string {
  const file = path.join(sb.dir, `policy-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(
    file,
    `limits:\n${Object.entries(limits)
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n')}\n${extra}`,
  );
  return file;
}

async function runJob(beads: string, steps: unknown[], policyFile: string, extra: string[] = []) {
  const r = await sb.startFake(beads, steps, ['--policy', policyFile, ...extra]);
  expect(r.code, r.stderr).toBe(0);
  const paths = jobPaths(sb.state, 'fake', beads);
  await waitFor(() => fs.existsSync(paths.outcome) && !fs.existsSync(paths.pid), `${beads} finished`, 120_000);
  return { paths, outcome: OutcomeSchema.parse(parseKv(fs.readFileSync(paths.outcome, 'utf8'))) };
}

describe('per-job output', () => {
  it('a 200 MB flood keeps the log within max_log_mb with head, one marker and tail; events and the result are still read', async () => {
    const { paths, outcome } = await runJob(
      'bd-flood',
      [
        { message: 'starting' },
        { print_repeat: { text: LINE, times: 2_800_000 } },
        { message: 'still here' },
        { write: 'done.txt', content: 'ok\n' },
        { result: 'final answer' },
        { exit: 0 },
      ],
      policy({ max_log_mb: 2, max_output_mb: 1024 }),
    );
    expect(outcome).toMatchObject({ state: 'success', reason_code: 'process_exit', final_text: 'final answer' });
    expect(outcome.log_bytes_total).toBeGreaterThan(200 * MB);
    expect(outcome.log_bytes_dropped! + outcome.log_bytes!).toBe(outcome.log_bytes_total);
    const log = fs.readFileSync(paths.log, 'utf8');
    expect(fs.statSync(paths.log).size).toBeLessThanOrEqual(2 * MB + 1024);
    expect(log.match(/\[dx-runner\] log cut: \d+ bytes dropped here/g)).toEqual([
      `[dx-runner] log cut: ${outcome.log_bytes_dropped} bytes dropped here`,
    ]);
    expect(log.startsWith('{"type":"init"')).toBe(true);
    expect(log.trimEnd().split('\n').at(-1)).toContain('"final answer"');
    expect(fs.readdirSync(paths.dir).filter((n) => n.includes('.tail.'))).toEqual([]);
    const check = await sb.dxJson(['check', '--beads', 'bd-flood'], CheckOutputSchema);
    expect(check.json).toMatchObject({
      state: 'exited_ok',
      events: expect.any(Number),
      log_bytes_dropped: outcome.log_bytes_dropped,
    });
    expect(check.json.events).toBeGreaterThanOrEqual(5);
    const logs = await sb.dxJson(['logs', '--beads', 'bd-flood', '--lines', '3'], LogsOutputSchema);
    expect(logs.json).toMatchObject({ cut: true, bytes_dropped: outcome.log_bytes_dropped });
    const human = await sb.dx(['logs', '--beads', 'bd-flood', '--lines', '3']);
    expect(human.stderr).toContain('this log was cut to stay under limits.max_log_mb');
    const report = await sb.dx(['report', '--beads', 'bd-flood']);
    expect(report.stdout).toMatch(/cut to stay under limits\.max_log_mb: \d+ bytes dropped/);
  }, 180_000);

  it('an agent printing past max_output_mb is stopped: output_flood, a failure class and a next action', async () => {
    const { outcome } = await runJob(
      'bd-flood-stop',
      [{ message: 'go' }, { print_repeat: { text: LINE, times: 2_000_000 } }, { result: 'never' }, { exit: 0 }],
      policy({ max_log_mb: 1, max_output_mb: 20 }),
    );
    expect(outcome).toMatchObject({
      state: 'failed',
      reason_code: 'output_flood',
      failure_class: 'output_flood',
      next_action: 'find_why_the_agent_floods_its_output_then_restart',
      finalized_by: 'flood',
    });
    expect(outcome.log_bytes_total).toBeGreaterThan(20 * MB);
    expect(outcome.log_bytes_total).toBeLessThan(60 * MB);
    const check = await sb.dx(['check', '--beads', 'bd-flood-stop']);
    expect(check.code).toBe(3);
  }, 120_000);

  it('caps below one byte are a valid setting, not a launch that never completes', async () => {
    // 0.0000001 MB is 0.1 byte: it once reached the watcher as a cap of 0, refused as an invalid spec
    const tiny = policy({ max_log_mb: 0.0000001, max_output_mb: 0.0000001 });
    const { outcome } = await runJob('bd-tiny-caps', [{ message: 'go' }, { result: 'done' }, { exit: 0 }], tiny);
    expect(outcome).toMatchObject({ state: 'failed', reason_code: 'output_flood' });
  });
});

describe('a job leaves no private HOME or TMPDIR behind', () => {
  // as a user who is not root: the agent's read-only trees (Go's module cache) refuse a plain remove
  const asUser = { wrap: WITHOUT_DAC_OVERRIDE };
  const readOnlyTrees =
    'for d in "$HOME/go/pkg/mod/example.com/m@v1" "$TMPDIR/cache/ro"; do mkdir -p "$d" && echo x > "$d/f"; done;' +
    ' chmod -R a-w "$HOME/go" "$TMPDIR/cache"';

  it('removes the trees an agent made read-only, at its end and at a later prune', async () => {
    const started = await sb.dx(
      sb.fakeStartArgs('bd-gomod', [{ run: ['sh', '-c', readOnlyTrees] }, { exit: 0 }]),
      asUser,
    );
    expect(started.code, started.stderr).toBe(0);
    const paths = jobPaths(sb.state, 'fake', 'bd-gomod');
    await waitFor(() => fs.existsSync(paths.outcome) && !fs.existsSync(paths.home), 'the job to end and clean up');
    expect(fs.existsSync(paths.tmp)).toBe(false);
    expect(fs.readFileSync(path.join(sb.state, 'fake', 'bd-gomod.watcher.log'), 'utf8')).not.toContain('crashed');
    // a home left behind (a watcher killed before its cleanup) is removed by prune, whatever its modes
    fs.mkdirSync(path.join(paths.home, 'go', 'pkg', 'mod', 'x'), { recursive: true });
    spawnSync('chmod', ['-R', 'a-w', path.join(paths.home, 'go')]);
    const pruned = await sb.dx(['prune', '--json'], asUser);
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(PruneOutputSchema.parse(JSON.parse(pruned.stdout)).actions).toContainEqual(
      expect.objectContaining({ beads: 'bd-gomod', action: 'removed_stale_files', detail: 'bd-gomod.home' }),
    );
    expect(fs.existsSync(paths.home)).toBe(false);
  });
});

describe('retention', () => {
  /** Make a finished job look as if it ended `days` ago. */
  function age(beads: string, days: number): void {
    const file = jobPaths(sb.state, 'fake', beads).outcome;
    const kv = parseKv(fs.readFileSync(file, 'utf8'));
    kv.completed_at = new Date(Date.now() - days * 86_400_000).toISOString();
    fs.writeFileSync(file, serializeKv(kv));
  }

  it('removes exactly the old finished jobs; keeps live, recent, held and the keep_last most recent', async () => {
    const pol = policy({ max_log_mb: 50 });
    const done = [{ write: 'a.txt', content: 'a\n' }, { result: 'ok' }, { exit: 0 }];
    for (const id of ['bd-old-1', 'bd-old-2', 'bd-recent', 'bd-held'])
      await runJob(id, done, pol, id === 'bd-held' ? ['--owner', 'dx-batch:wave-keep'] : []);
    // a restarted old job has rotated files too: every one of them goes
    await sb.dx(['restart', '--beads', 'bd-old-1', '--policy', pol]);
    await waitFor(
      () =>
        fs.existsSync(jobPaths(sb.state, 'fake', 'bd-old-1').outcome) &&
        fs.existsSync(`${jobPaths(sb.state, 'fake', 'bd-old-1').outcome}.1`),
      'restart finished',
    );
    await waitFor(() => !fs.existsSync(jobPaths(sb.state, 'fake', 'bd-old-1').pid), 'restart done');
    const live = await sb.dx([
      ...sb.fakeStartArgs('bd-live', [{ message: 'working' }, { hang: true }]),
      '--policy',
      pol,
    ]);
    expect(live.code).toBe(0);
    for (const id of ['bd-old-1', 'bd-old-2', 'bd-held']) age(id, 40);
    age('bd-recent', 5);

    const dry = await sb.dxJson(
      ['prune', '--older-than', '30d', '--keep-last', '0', '--dry-run', '--policy', pol],
      PruneOutputSchema,
    );
    expect(dry.json.retention!.removed.map((r) => r.beads).sort()).toEqual(['bd-old-1', 'bd-old-2']);
    expect(dry.json.retention!.bytes_freed).toBeGreaterThan(0);
    expect(fs.existsSync(jobPaths(sb.state, 'fake', 'bd-old-1').meta)).toBe(true);

    const kept1 = await sb.dxJson(
      ['prune', '--older-than', '30d', '--keep-last', '3', '--policy', pol],
      PruneOutputSchema,
    );
    expect(kept1.json.retention!.removed.map((r) => r.beads)).toEqual([]);

    const real = await sb.dxJson(
      ['prune', '--older-than', '30d', '--keep-last', '0', '--policy', pol],
      PruneOutputSchema,
    );
    expect(real.json.retention!.removed.map((r) => r.beads).sort()).toEqual(['bd-old-1', 'bd-old-2']);
    expect(real.json.retention!.kept).toMatchObject({ live: 1, held: 1, recent: 1 });
    const left = fs.readdirSync(path.join(sb.state, 'fake'));
    expect(left.filter((n) => n.startsWith('bd-old-'))).toEqual([]);
    for (const id of ['bd-recent', 'bd-held', 'bd-live']) expect(left).toContain(`${id}.meta`);

    // the owner releases its hold: now the held job goes too
    const rel = await sb.dxJson(['release', '--owner', 'dx-batch:wave-keep'], ReleaseOutputSchema);
    expect(rel.json).toEqual({ owner: 'dx-batch:wave-keep', released: true });
    const after = await sb.dxJson(['prune', '--retention', '--keep-last', '0', '--policy', pol], PruneOutputSchema);
    expect(after.json.retention!.removed.map((r) => r.beads)).toEqual(['bd-held']);
    await sb.dx(['stop', '--beads', 'bd-live']);
  }, 120_000);

  // root is needed to give a tree to another user; prune then runs as root minus the capabilities
  // that would let it remove or chmod that tree anyway
  it.skipIf(process.getuid?.() !== 0)(
    'a job whose files the file system will not let go is reported (exit 1), and the others are still removed',
    async () => {
      const pol = policy({ max_log_mb: 50 });
      const done = [{ result: 'ok' }, { exit: 0 }];
      await runJob('bd-stuck', done, pol);
      await runJob('bd-gone', done, pol);
      age('bd-stuck', 40);
      age('bd-gone', 50);
      const foreign = path.join(jobPaths(sb.state, 'fake', 'bd-stuck').home, 'foreign');
      fs.mkdirSync(foreign, { recursive: true });
      fs.writeFileSync(path.join(foreign, 'f'), 'x\n');
      fs.chownSync(foreign, 4242, 4242);
      fs.chmodSync(foreign, 0o555);
      const notOwner = { wrap: WITHOUT_OWNER_OVERRIDE };
      const args = ['prune', '--older-than', '30d', '--keep-last', '0', '--policy', pol, '--json'];
      const stuck = await sb.dx(args, notOwner);
      expect(stuck.code, stuck.stderr).toBe(1);
      const out = PruneOutputSchema.parse(JSON.parse(stuck.stdout));
      expect(out.actions).toContainEqual(
        expect.objectContaining({
          beads: 'bd-stuck',
          action: 'left_after_error',
          detail: expect.stringContaining('EACCES'),
        }),
      );
      expect(out.retention!.not_removed).toEqual([
        { beads: 'bd-stuck', provider: 'fake', error: expect.stringContaining(foreign) },
      ]);
      expect(out.retention!.removed.map((r) => r.beads)).toEqual(['bd-gone']);
      expect(fs.existsSync(jobPaths(sb.state, 'fake', 'bd-gone').meta)).toBe(false);
      // its record stays, so the next prune finds it and, the tree now removable, finishes it
      expect(fs.existsSync(jobPaths(sb.state, 'fake', 'bd-stuck').meta)).toBe(true);
      const human = await sb.dx(args.slice(0, -1), notOwner);
      expect(human.stdout).toContain('not_removed beads=bd-stuck provider=fake: EACCES');
      fs.chownSync(foreign, 0, 0);
      const again = await sb.dx(args, notOwner);
      expect(again.code, again.stderr).toBe(0);
      expect(PruneOutputSchema.parse(JSON.parse(again.stdout)).retention!.removed.map((r) => r.beads)).toEqual([
        'bd-stuck',
      ]);
    },
  );

  it('status --disk shows bytes per provider and kind, the largest jobs, holds and free space', async () => {
    await runJob(
      'bd-disk',
      [{ print_repeat: { text: LINE, times: 20_000 } }, { write: 'a.txt', content: 'a\n' }, { exit: 0 }],
      policy({ max_log_mb: 50 }),
      ['--owner', 'dx-batch:wave-d'],
    );
    const disk = await sb.dxJson(['status', '--disk'], DiskOutputSchema);
    expect(disk.json.by_provider.fake).toBeGreaterThan(1_000_000);
    expect(disk.json.by_kind.log).toBeGreaterThan(1_000_000);
    expect(disk.json.largest_jobs[0]).toMatchObject({ beads: 'bd-disk', provider: 'fake' });
    expect(disk.json.holds).toEqual(['dx-batch:wave-d']);
    expect(disk.json.free_bytes).toBeGreaterThan(0);
    const human = await sb.dx(['status', '--disk']);
    expect(human.stdout).toMatch(/free=\d+\.\d MB/);
  });

  /** A finished or running dx-batch wave on disk, as if it ended `daysAgo` days ago. */
  function makeWave(id: string, status: string, daysAgo: number): void {
    const waves = path.join(sb.dir, 'batch', 'waves');
    fs.mkdirSync(path.join(sb.dir, 'batch'), { recursive: true, mode: 0o700 });
    fs.mkdirSync(path.join(waves, id, 'prompts'), { recursive: true });
    const at = new Date(Date.now() - daysAgo * 86_400_000).toISOString();
    const config = {
      max_parallel: 1,
      max_revisions: 0,
      retry_chain: ['fake'],
      review_chain: ['fake'],
      review: true,
      exec_process_cap: 60,
      poll_interval_sec: 1,
      lease_ttl_minutes: 10,
      worktree_base: sb.agents,
      prompt_file: null,
      policy_file: null,
    };
    const state = {
      schema_version: 1,
      wave_id: id,
      status,
      reason_code: null,
      error: null,
      created_at: at,
      updated_at: at,
      started_at: at,
      completed_at: status === 'running' ? null : at,
      config,
      preflight: [],
      token: 1,
      items: [],
      stats: {},
    };
    fs.writeFileSync(path.join(waves, id, 'wave_state.json'), JSON.stringify(state));
    fs.mkdirSync(path.join(sb.dir, 'batch', 'ledgers', id), { recursive: true });
    fs.writeFileSync(path.join(sb.dir, 'batch', 'ledgers', id, 'x.ledger.jsonl'), '{}\n');
  }

  it('dx-batch prune removes finished waves past the limit and keeps unfinished ones', async () => {
    const waves = path.join(sb.dir, 'batch', 'waves');
    makeWave('w-old-done', 'completed', 100);
    makeWave('w-old-running', 'running', 100);
    makeWave('w-new-done', 'completed', 1);
    const dry = await sb.batch(['prune', '--keep-last', '0', '--dry-run', '--json']);
    expect(BatchPruneOutputSchema.parse(JSON.parse(dry.stdout)).removed.map((w) => w.wave_id)).toEqual(['w-old-done']);
    expect(fs.existsSync(path.join(waves, 'w-old-done'))).toBe(true);
    // a dx-runner that cannot release the wave's hold on its jobs: the wave stays (without it, nothing
    // would ever release the hold, and dx-runner's retention would keep those jobs for good)
    const failing = path.join(sb.dir, 'dx-runner-fails');
    fs.writeFileSync(failing, '#!/bin/sh\necho "dx-runner is not there today" >&2\nexit 1\n', { mode: 0o755 });
    const held = await sb.batch(['prune', '--keep-last', '0', '--json'], { env: { DX_RUNNER_BIN: failing } });
    expect(BatchPruneOutputSchema.parse(JSON.parse(held.stdout))).toMatchObject({
      removed: [],
      kept: { hold_not_released: 1 },
    });
    expect(fs.existsSync(path.join(waves, 'w-old-done', 'wave_state.json'))).toBe(true);
    const real = await sb.batch(['prune', '--keep-last', '0', '--json']);
    const out = BatchPruneOutputSchema.parse(JSON.parse(real.stdout));
    expect(out.removed.map((w) => w.wave_id)).toEqual(['w-old-done']);
    expect(out.kept).toMatchObject({ unfinished: 1, recent: 1 });
    expect(fs.existsSync(path.join(waves, 'w-old-done'))).toBe(false);
    expect(fs.existsSync(path.join(sb.dir, 'batch', 'ledgers', 'w-old-done'))).toBe(false);
    expect(fs.existsSync(path.join(waves, 'w-old-running'))).toBe(true);
  });

  it.skipIf(process.getuid?.() !== 0)(
    'dx-batch prune: a wave whose files the file system will not let go is reported (exit 1), the others removed',
    async () => {
      makeWave('w-stuck', 'completed', 100);
      makeWave('w-gone', 'completed', 120);
      // a prompts folder made by a dx-batch run as another user (sudo), read-only to us
      const foreign = path.join(sb.dir, 'batch', 'waves', 'w-stuck', 'prompts', 'by-another-user');
      fs.mkdirSync(foreign);
      fs.writeFileSync(path.join(foreign, 'p.md'), 'x\n');
      fs.chownSync(foreign, 4242, 4242);
      fs.chmodSync(foreign, 0o555);
      const args = ['prune', '--keep-last', '0', '--json'];
      const stuck = await sb.batch(args, { wrap: WITHOUT_OWNER_OVERRIDE });
      expect(stuck.code, stuck.stderr).toBe(1);
      const out = BatchPruneOutputSchema.parse(JSON.parse(stuck.stdout));
      expect(out.removed.map((w) => w.wave_id)).toEqual(['w-gone']);
      expect(out.not_removed).toEqual([{ wave_id: 'w-stuck', error: expect.stringContaining('EACCES') }]);
      // its state goes last: the next prune finds it and, the folder now removable, finishes it
      expect(fs.existsSync(path.join(sb.dir, 'batch', 'waves', 'w-stuck', 'wave_state.json'))).toBe(true);
      fs.chownSync(foreign, 0, 0);
      const again = await sb.batch(args, { wrap: WITHOUT_OWNER_OVERRIDE });
      expect(again.code, again.stderr).toBe(0);
      expect(BatchPruneOutputSchema.parse(JSON.parse(again.stdout)).removed.map((w) => w.wave_id)).toEqual(['w-stuck']);
    },
  );

  it('nightly-dispatch prune removes old morning reports and keeps latest', async () => {
    const reports = path.join(sb.dir, 'nightly', 'reports');
    fs.mkdirSync(reports, { recursive: true });
    fs.chmodSync(path.join(sb.dir, 'nightly'), 0o700);
    const stamp = (days: number) =>
      new Date(Date.now() - days * 86_400_000)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
    const old = stamp(120);
    const recent = stamp(2);
    for (const id of [old, recent])
      for (const ext of ['md', 'json']) fs.writeFileSync(path.join(reports, `${id}.${ext}`), 'x');
    for (const ext of ['md', 'json']) fs.writeFileSync(path.join(reports, `latest.${ext}`), 'x');
    const r = await sb.bin(NIGHTLY_BIN, ['prune', '--keep-last', '0', '--json'], {
      env: { NIGHTLY_DISPATCH_DIR: path.join(sb.dir, 'nightly') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(NightlyPruneOutputSchema.parse(JSON.parse(r.stdout)).removed.map((x) => x.run_id)).toEqual([old]);
    expect(fs.readdirSync(reports).sort()).toEqual([`${recent}.json`, `${recent}.md`, 'latest.json', 'latest.md']);
    // a report the file system will not let go (here a folder under a report's name) keeps only itself
    const older = stamp(130);
    const olderStill = stamp(140);
    fs.mkdirSync(path.join(reports, `${older}.md`));
    fs.writeFileSync(path.join(reports, `${older}.md`, 'x'), 'x');
    fs.writeFileSync(path.join(reports, `${olderStill}.md`), 'x');
    const stuck = await sb.bin(NIGHTLY_BIN, ['prune', '--keep-last', '0', '--json'], {
      env: { NIGHTLY_DISPATCH_DIR: path.join(sb.dir, 'nightly') },
    });
    expect(stuck.code, stuck.stderr).toBe(1);
    const stuckOut = NightlyPruneOutputSchema.parse(JSON.parse(stuck.stdout));
    expect(stuckOut.removed.map((x) => x.run_id)).toEqual([olderStill]);
    expect(stuckOut.not_removed).toEqual([{ run_id: older, error: expect.any(String) }]);
    fs.rmSync(path.join(reports, `${older}.md`), { recursive: true });
    // the policy's age is a number of days: 1e-7 days (JavaScript prints 1e-7) was once turned into a
    // flag's text and refused as a malformed --older-than; beyond 1,000 years the policy is refused
    const byPolicy = async (bin: string, age: string) =>
      sb.bin(bin, ['prune', '--keep-last', '0', '--json', '--policy', policy({ max_log_mb: 50 }, age)], {
        env: { NIGHTLY_DISPATCH_DIR: path.join(sb.dir, 'nightly') },
      });
    const tooOld = await byPolicy(NIGHTLY_BIN, 'retention:\n  nights_days: 1e21\n');
    expect(tooOld.code).toBe(1);
    expect(JSON.parse(tooOld.stdout).error).toMatchObject({
      reason_code: 'policy_invalid',
      message: expect.stringMatching(/retention\.nights_days: Too big: expected number to be <=365000$/),
    });
    expect(fs.readdirSync(reports)).toHaveLength(4);
    const all = await byPolicy(NIGHTLY_BIN, 'retention:\n  nights_days: 0.0000001\n');
    expect(all.code, all.stderr).toBe(0);
    expect(NightlyPruneOutputSchema.parse(JSON.parse(all.stdout)).removed.map((x) => x.run_id)).toEqual([recent]);
    const waves = await byPolicy(BATCH_BIN, 'retention:\n  waves_days: 0.0000001\n');
    expect(waves.code, waves.stderr).toBe(0);
  });
});

describe('free space', () => {
  it('start refuses with disk_low when the free space is below limits.min_free_mb; nothing is launched', async () => {
    const r = await sb.dx([
      ...sb.fakeStartArgs('bd-low', [{ exit: 0 }]),
      '--policy',
      policy({ min_free_mb: 1_000_000_000 }),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^Error: only \d+ MB free on the file system of the dx-runner state root .*limits\.min_free_mb is 1000000000 \(reason_code=disk_low\)$/,
      ),
    ]);
    expect(fs.existsSync(jobPaths(sb.state, 'fake', 'bd-low').meta)).toBe(false);
    const batch = await sb.batch(['start', '--items', 'bd-low', '--wave-id', 'w-low', '--json'], {
      env: {
        DX_POLICY_FILE: policy(
          { min_free_mb: 1_000_000_000 },
          'batch:\n  retry_chain: [fake]\n  review_chain: [fake]\n',
        ),
      },
    });
    expect(batch.code).toBe(1);
    expect(JSON.parse(batch.stdout)).toMatchObject({ status: 'failed', reason_code: 'disk_low' });
  });

  it('a disk that fills up under a job: the agent is ended cleanly and the outcome is valid', () => {
    const ns = pidNamespace();
    const worktree = sb.worktree('bd-full');
    const prompt = sb.prompt({
      steps: [
        { message: 'go' },
        { print_repeat: { text: LINE, times: 400_000 } },
        { message: 'after' },
        { hang: true },
      ],
    });
    const fixture = path.join(REPO_ROOT, 'test', 'chaos', 'fixtures', 'disk-full.mjs');
    const r = spawnSync(ns[0], [...ns.slice(1), process.execPath, fixture, CLI_BIN, sb.dir, prompt, worktree], {
      env: sb.env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(summary.error).toBeUndefined();
    expect(summary.start.code, summary.start.stderr).toBe(0);
    expect(summary.outcome).not.toBeNull();
    const outcome = OutcomeSchema.parse(parseKv(summary.outcome));
    expect(outcome).toMatchObject({ state: 'failed', reason_code: 'disk_full', failure_class: 'disk_full' });
    expect(summary.agent_alive).toBe(false);
    expect(JSON.parse(summary.check.stdout)).toMatchObject({
      state: 'exited_err',
      reason_code: 'disk_full',
      next_action: 'free_disk_space_where_the_state_lives_then_restart',
    });
  });
});
