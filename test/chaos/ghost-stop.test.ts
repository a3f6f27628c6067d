import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutcomeSchema, parseKv, StopOutputSchema } from '@dx/core';
import { CLI_BIN, REPO_ROOT } from '../helpers/paths.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';
import { pidNamespace } from './helpers.js';

const FIXTURE = path.join(REPO_ROOT, 'test', 'chaos', 'fixtures', 'ghost-job.mjs');

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('stop of a job that already died', () => {
  it('a job whose watcher died with its agent is recorded watcher_lost, not a stop nobody made', () => {
    const childPidFile = path.join(sb.dir, 'bd-lost.child.pid');
    const prompt = sb.prompt({ steps: [{ message: 'working' }, { spawn_child: childPidFile }, { hang: true }] });
    const ns = pidNamespace();
    // the fixture signals pids it read from start's output and a pid file: only inside its own namespace
    const r = spawnSync(
      ns[0],
      [...ns.slice(1), process.execPath, FIXTURE, CLI_BIN, 'bd-lost', sb.worktree('bd-lost'), prompt, childPidFile],
      { env: sb.env, encoding: 'utf8', timeout: 120_000 },
    );
    expect(r.status, r.stderr).toBe(0);
    const { stop } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      stop: { code: number; stdout: string; stderr: string };
    };
    expect(stop.code, stop.stderr).toBe(0);
    expect(StopOutputSchema.parse(JSON.parse(stop.stdout))).toMatchObject({
      reason_code: 'watcher_lost',
      outcome_state: 'failed',
      exit_code: 1,
    });
    const outcome = OutcomeSchema.parse(
      parseKv(fs.readFileSync(path.join(sb.state, 'fake', 'bd-lost.outcome'), 'utf8')),
    );
    expect(outcome).toMatchObject({ state: 'failed', reason_code: 'watcher_lost' });
  });
});
