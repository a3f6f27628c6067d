import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckOutputSchema, OutcomeSchema, parseKv, PruneOutputSchema } from '@dx/core';
import { CLI_BIN, REPO_ROOT } from '../helpers/paths.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';
import { pidNamespace } from './helpers.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'chaos', 'fixtures', 'exhaustion-sweep.mjs');
const FULL_DISK_FIXTURE = path.join(REPO_ROOT, 'test', 'chaos', 'fixtures', 'full-disk.mjs');

/** The full-disk fixture in `mode`, in private mount and pid namespaces: its story, step by step. */
function onFullDisk(mode: 'prune' | 'stop', prompt: string, worktree: string) {
  const ns = pidNamespace();
  const r = spawnSync(
    ns[0],
    [...ns.slice(1), process.execPath, FULL_DISK_FIXTURE, CLI_BIN, sb.dir, prompt, worktree, mode],
    { env: sb.env, encoding: 'utf8', timeout: 240_000 },
  );
  expect(r.status, r.stderr).toBe(0);
  const run = JSON.parse(r.stdout.trim()) as Record<
    string,
    { code: number; stdout: string } | boolean | number | string[]
  >;
  return { story: r.stdout, run, step: (name: string) => run[name] as { code: number; stdout: string } };
}
/**
 * Wide enough that the file system runs out before, during and after a start, as the code changes;
 * fine enough (one 4 KiB block a step) that the narrow window "launched, then out of room" is hit.
 */
const INODE_BUDGETS = Array.from({ length: 21 }, (_, i) => `inodes:${i + 4}`);
const KIB_BUDGETS = Array.from({ length: 24 }, (_, i) => `kb:${(i + 1) * 4}`);

interface BudgetRun {
  budget: string;
  error?: string;
  start: { code: number; stdout: string; stderr: string };
  agent_seen: boolean;
  unsupervised: string | null;
  outcome: string | null;
  prune: { code: number; stdout: string; stderr: string };
  check: { code: number; stdout: string; stderr: string };
  left: string[];
  temps: string[];
}

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('the state root runs out of room at any step of a job', () => {
  it.each([
    ['files (inodes)', INODE_BUDGETS],
    ['bytes', KIB_BUDGETS],
  ])(
    'out of %s: never an agent unsupervised, a start hanging or a run without an honest record',
    (_, budgets) => {
      const prompt = sb.prompt({ steps: [{ message: 'working' }, { sleep: 1500 }, { exit: 0 }] });
      const ns = pidNamespace();
      // the fixture ends every process of its namespace between budgets: only inside its own
      const r = spawnSync(
        ns[0],
        [
          ...ns.slice(1),
          process.execPath,
          FIXTURE,
          CLI_BIN,
          sb.dir,
          prompt,
          sb.worktree('bd-inodes'),
          budgets.join(','),
        ],
        { env: sb.env, encoding: 'utf8', timeout: 600_000 },
      );
      expect(r.status, r.stderr).toBe(0);
      const runs = r.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as BudgetRun);
      expect(runs.map((run) => run.budget)).toEqual(budgets);
      const kinds = new Set<string>();
      for (const run of runs) {
        const story = JSON.stringify(run, null, 1);
        expect(run.error, story).toBeUndefined();
        // no agent ever ran without its watcher, and nothing of the job outlived it
        expect(run.unsupervised, story).toBeNull();
        expect(run.left, story).toEqual([]);
        // a write that failed left nothing behind to fill the disk further
        expect(run.temps, story).toEqual([]);
        // prune runs, or (its own lock has no room left) says why in one answer a user can act on
        if (run.prune.code !== 0) expect(JSON.parse(run.prune.stdout).error.reason_code, story).toBe('disk_full');
        const answer = JSON.parse(run.check.stdout) as { error?: { reason_code: string }; reason_code?: string };
        if (run.start.code !== 0) {
          // start answered (it did not hang) with the failure a user can act on
          expect(run.start.code, story).toBe(1);
          expect(JSON.parse(run.start.stdout).error.reason_code, story).toBe('disk_full');
          expect(run.agent_seen, story).toBe(false);
          // nothing ran: no record, or one that says the launch never completed
          expect(answer.error?.reason_code ?? answer.reason_code, story).toMatch(/^(job_not_found|launch_incomplete)$/);
          kinds.add('refused');
          continue;
        }
        // launched: the outcome is the agent's own result, or the disk it could not be recorded on
        expect(run.outcome, story).not.toBeNull();
        const outcome = OutcomeSchema.parse(parseKv(run.outcome!));
        if (outcome.reason_code === 'disk_full') {
          expect(outcome.state, story).toBe('failed');
          kinds.add('ended_disk_full');
        } else {
          expect(outcome, story).toMatchObject({ state: 'no_op', reason_code: 'exit_zero_no_mutations', exit_code: 0 });
          kinds.add('ran');
        }
        expect(CheckOutputSchema.parse(answer).reason_code, story).toBe(outcome.reason_code);
      }
      // the sweep crossed every step: refused before launch, ended at launch, ran to its end
      expect([...kinds].sort()).toEqual(['ended_disk_full', 'ran', 'refused']);
      // the sweep's own bound: two dozen jobs took over a minute on a loaded 2-core machine
    },
    600_000,
  );

  it('start refuses (disk_low, one answer) when the state root has bytes to spare but few files left', () => {
    const prompt = sb.prompt({ steps: [{ exit: 0 }] });
    const ns = pidNamespace();
    const r = spawnSync(
      ns[0],
      [...ns.slice(1), process.execPath, FIXTURE, CLI_BIN, sb.dir, prompt, sb.worktree('bd-few'), 'inodes:500'],
      { env: { ...sb.env, SWEEP_MIN_FREE_MB: '1' }, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout.trim()) as BudgetRun;
    expect(run.start.code).toBe(1);
    expect(JSON.parse(run.start.stdout).error).toMatchObject({
      reason_code: 'disk_low',
      message: expect.stringMatching(/^only \d+ files \(inodes\) free on the file system of the dx-runner state root /),
    });
    expect(run.agent_seen).toBe(false);
  });

  it('a file system full to the last byte: prune gives up the reserve kept for it and frees old jobs', () => {
    const prompt = sb.prompt({ steps: [{ message: 'done' }, { exit: 0 }] });
    const { story, run, step } = onFullDisk('prune', prompt, sb.worktree('bd-full'));
    expect(run.error, story).toBeUndefined();
    expect(step('start').code, story).toBe(0);
    // a start with room to spare leaves a reserve behind, a prune keeps it
    expect(run.reserve_after_start, story).toBe(true);
    expect(step('waited').code, story).not.toBe(124);
    expect(step('first_prune').code, story).toBe(0);
    expect(run.reserve_after_first_prune, story).toBe(true);
    // the file system was really full: not one block left for an unprivileged writer
    expect(run.free_blocks_when_full, story).toBe(0);
    // a dry run first, as a careful operator does: it needs no room at all, and leaves the reserve be
    expect(step('full_dry_run').code, story).toBe(0);
    const looked = PruneOutputSchema.parse(JSON.parse(step('full_dry_run').stdout));
    expect(looked.retention, story).toMatchObject({ dry_run: true, removed: [{ beads: 'bd-full' }] });
    expect(run.reserve_after_full_dry_run, story).toBe(true);
    // prune could take its locks, and removed the finished job: the operator's way out works
    expect(step('full_prune').code, story).toBe(0);
    const pruned = PruneOutputSchema.parse(JSON.parse(step('full_prune').stdout));
    expect(
      pruned.retention?.removed.map((j) => j.beads),
      story,
    ).toEqual(['bd-full']);
    expect(pruned.reserve_used, story).toBe(true);
    expect(run.job_files_left, story).toEqual([]);
    // once there is room again, the next prune keeps a reserve for the next time
    expect(step('later_prune').code, story).toBe(0);
    expect(run.reserve_after_later_prune, story).toBe(true);
  });

  it('a file system full to the last byte: stop still ends a silent job (its lock takes the reserve)', () => {
    const prompt = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    const { story, run, step } = onFullDisk('stop', prompt, sb.worktree('bd-silent'));
    expect(run.error, story).toBeUndefined();
    expect(step('start').code, story).toBe(0);
    expect(run.reserve_after_start, story).toBe(true);
    expect(run.free_blocks_when_full, story).toBe(0);
    expect(step('full_stop').code, story).toBe(0);
    expect(JSON.parse(step('full_stop').stdout), story).toMatchObject({ stopped: true, reason_code: 'manual_stop' });
    expect(CheckOutputSchema.parse(JSON.parse(step('check').stdout)).reason_code, story).toBe('manual_stop');
  });
});
