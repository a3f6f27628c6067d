/**
 * A signal only ever reaches a process proven to be the job's: records naming pid 1, 0, -1, a decoy
 * and a dead pid, with the kernel start time missing, zero or wrong, are run through every command
 * that can signal, inside a private pid namespace. The namespace's init (the fixture) and the decoy
 * record every signal they get.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CLI_BIN, REPO_ROOT } from '../helpers/paths.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';
import { pidNamespace } from './helpers.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'chaos', 'fixtures', 'forged-records.mjs');

interface Summary {
  jobs: string[];
  init_signals: string[];
  decoy_alive: boolean;
  decoy_signals: string[];
  results: Array<{ args: string[]; code: number | null; signal: string | null; stdout: string; stderr: string }>;
}

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe("signals reach only processes proven to be the job's", () => {
  it('init, the decoy and dx-runner itself survive every command run on forged records', () => {
    const ns = pidNamespace();
    const r = spawnSync(ns[0], [...ns.slice(1), process.execPath, FIXTURE, CLI_BIN, sb.state, sb.dir], {
      env: sb.env,
      encoding: 'utf8',
      timeout: 600_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Summary;
    expect(summary.jobs.length).toBeGreaterThanOrEqual(30);
    expect(summary.init_signals).toEqual([]);
    expect(summary.decoy_signals).toEqual([]);
    expect(summary.decoy_alive).toBe(true);
    // every command answered (none was killed by a stray signal to its own group)
    for (const res of summary.results) expect(res.signal, `${res.args.join(' ')}: ${res.stderr}`).toBeNull();

    const result = (args: string[]) => summary.results.find((x) => x.args.join(' ') === args.join(' '))!;
    const unproven = summary.jobs.filter((j) => !/-(dead|decoy)-wrong-/.test(j));
    for (const beads of unproven) {
      const check = JSON.parse(result(['check', '--beads', beads, '--json']).stdout);
      expect(check, beads).toMatchObject({ state: 'exited_err', reason_code: 'identity_unproven' });
      const stop = result(['stop', '--beads', beads, '--json']);
      expect(stop.code, beads).toBe(1);
      expect(JSON.parse(stop.stdout).error).toMatchObject({
        reason_code: 'identity_unproven',
        next_action: 'verify_the_processes_by_hand_then_finalize_with_--no-signal',
      });
      expect(result(['finalize', '--beads', beads, '--json']).code, beads).toBe(1);
      expect(result(['restart', '--beads', beads, '--json']).code, beads).toBe(1);
    }
    // a recorded start time that does not match proves the recorded process is gone: a ghost, finalized without a signal
    for (const beads of summary.jobs.filter((j) => /-(dead|decoy)-wrong-/.test(j))) {
      const check = JSON.parse(result(['check', '--beads', beads, '--json']).stdout);
      expect(check.state, beads).toBe('exited_err');
    }
    const status = JSON.parse(result(['status', '--json']).stdout);
    expect(status.jobs.filter((j: { reason_code: string }) => j.reason_code === 'identity_unproven').length).toBe(
      unproven.length,
    );
    const prune = JSON.parse(result(['prune', '--json']).stdout);
    expect(prune.actions.filter((a: { action: string }) => a.action === 'left_identity_unproven').length).toBe(
      unproven.length,
    );
    const watchdog = JSON.parse(
      result(['watchdog', '--once', '--max-retries', '3', '--stall-minutes', '0.01', '--json']).stdout,
    );
    expect(
      watchdog.passes[0].actions.filter((a: { action: string }) => a.action === 'left_identity_unproven').length,
    ).toBe(unproven.length);
  }, 600_000);
});
