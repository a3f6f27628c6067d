/**
 * One control at a time per job, and an outcome belongs to one run: restart, stop and finalize
 * fired at once on one running job, twenty times over. Whatever order they take, the job's files
 * must describe one run instance and no agent may be left without its watcher.
 */
import fs from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckOutputSchema, jobPaths, loadJob, readRecord, StartOutputSchema } from '@dx/core';
import { createSandbox, processExists, waitFor, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox({ DX_RUNNER_KILL_GRACE_SEC: '1' });
});
afterEach(async () => {
  await sb.cleanup();
});

const TRIALS = 20;

describe('restart & stop & finalize at once', () => {
  it(`leaves one consistent run instance, ${TRIALS} times`, async () => {
    const wt = sb.worktree('bd-race');
    const paths = jobPaths(sb.state, 'fake', 'bd-race');
    for (let trial = 0; trial < TRIALS; trial++) {
      const prompt = sb.prompt({ steps: [{ message: `trial ${trial}` }, { hang: true }] });
      const start = await sb.dxJson(
        ['start', '--beads', 'bd-race', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt],
        StartOutputSchema,
      );
      expect(start.code, start.stderr).toBe(0);
      const [restart, stop, finalize] = await Promise.all([
        sb.dx(['restart', '--beads', 'bd-race']),
        sb.dx(['stop', '--beads', 'bd-race']),
        sb.dx(['finalize', '--beads', 'bd-race', '--reason', 'race']),
      ]);
      for (const r of [restart, stop, finalize]) expect([0, 1], r.stderr).toContain(r.code);

      const job = loadJob(paths);
      const meta = job.meta!;
      const hb = readRecord(paths.heartbeat, 'heartbeat');
      const outcome = fs.existsSync(paths.outcome) ? readRecord(paths.outcome, 'outcome') : undefined;
      expect(job.corrupt, `trial ${trial}`).toBeUndefined();
      expect(hb?.run_instance, `trial ${trial}: heartbeat`).toBe(meta.run_instance);
      if (outcome) expect(outcome.run_instance, `trial ${trial}: outcome`).toBe(meta.run_instance);
      const check = await sb.dxJson(['check', '--beads', 'bd-race'], CheckOutputSchema);
      if (job.outcome) {
        // ended: no pid file, no live process of this instance
        expect(fs.existsSync(paths.pid), `trial ${trial}: pid file of an ended job`).toBe(false);
        expect(job.agentAlive || job.watcherAlive, `trial ${trial}: processes of an ended job`).toBe(false);
        expect(check.json.state).toBe('exited_err');
        expect(check.json.run_instance).toBe(meta.run_instance);
      } else {
        // the restart won last: a live instance whose agent has its watcher, pid file and private dirs
        expect(job.watcherAlive, `trial ${trial}: live instance without its watcher`).toBe(true);
        await waitFor(() => fs.existsSync(paths.pid), 'pid file of the live instance', 5000);
        expect(Number(fs.readFileSync(paths.pid, 'utf8'))).toBe(loadJob(paths).heartbeat?.agent_pid);
        expect(fs.existsSync(paths.home) && fs.existsSync(paths.tmp), `trial ${trial}: private dirs`).toBe(true);
        expect(['launching', 'healthy']).toContain(check.json.state);
        const stopped = await sb.dx(['stop', '--beads', 'bd-race']);
        expect(stopped.code, stopped.stderr).toBe(0);
      }
      if (job.heartbeat?.agent_pid)
        await waitFor(() => !processExists(job.heartbeat!.agent_pid!), 'agent gone', 10_000);
    }
  }, 600_000);
});
