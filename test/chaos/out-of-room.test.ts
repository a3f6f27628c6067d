import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckOutputSchema, OutcomeSchema, parseKv } from '@dx/core';
import { CLI_BIN, REPO_ROOT } from '../helpers/paths.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';
import { pidNamespace } from './helpers.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'chaos', 'fixtures', 'exhaustion-sweep.mjs');
/** Wide enough that the file system runs out before, during and after a start, as the code changes. */
const INODE_BUDGETS = Array.from({ length: 21 }, (_, i) => `inodes:${i + 4}`);
const KIB_BUDGETS = Array.from({ length: 12 }, (_, i) => `kb:${(i + 1) * 8}`);

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
  ])('out of %s: never an agent unsupervised, a start hanging or a run without an honest record', (_, budgets) => {
    const prompt = sb.prompt({ steps: [{ message: 'working' }, { sleep: 1500 }, { exit: 0 }] });
    const ns = pidNamespace();
    // the fixture ends every process of its namespace between budgets: only inside its own
    const r = spawnSync(
      ns[0],
      [...ns.slice(1), process.execPath, FIXTURE, CLI_BIN, sb.dir, prompt, sb.worktree('bd-inodes'), budgets.join(',')],
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
  });

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
});
