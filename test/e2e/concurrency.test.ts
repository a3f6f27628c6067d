import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ErrorOutputSchema, StatusOutputSchema } from '@dx/core';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('concurrent starts', () => {
  it('20 concurrent starts of one beads id yield exactly one job', async () => {
    const wt = sb.worktree('bd-race');
    const prompt = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        sb.dx(
          ['start', '--beads', 'bd-race', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt, '--json'],
          { timeoutMs: 120_000 },
        ),
      ),
    );
    const winners = results.filter((r) => r.code === 0);
    const losers = results.filter((r) => r.code !== 0);
    expect(winners).toHaveLength(1);
    expect(losers).toHaveLength(19);
    for (const l of losers) {
      expect(l.code).toBe(1);
      expect(ErrorOutputSchema.parse(JSON.parse(l.stdout)).error.reason_code).toBe('job_already_running');
    }
    const status = await sb.dxJson(['status'], StatusOutputSchema);
    expect(status.json.jobs).toHaveLength(1);
    // exactly one watcher was ever started: one meta, one log, no rotated copies
    const files = fs.readdirSync(path.join(sb.state, 'fake'));
    expect(files.filter((f) => f.startsWith('bd-race.log'))).toEqual(['bd-race.log']);
  }, 180_000);

  it('8 concurrent starts of different beads ids into one worktree yield exactly one job', async () => {
    const wt = sb.worktree('shared');
    const prompt = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        sb.dx(
          [
            'start',
            '--beads',
            `bd-same-${i}`,
            '--provider',
            'fake',
            '--prompt-file',
            prompt,
            '--worktree',
            wt,
            '--json',
          ],
          { timeoutMs: 120_000 },
        ),
      ),
    );
    expect(results.filter((r) => r.code === 0)).toHaveLength(1);
    for (const l of results.filter((r) => r.code !== 0))
      expect(ErrorOutputSchema.parse(JSON.parse(l.stdout)).error.reason_code).toBe('worktree_in_use');
    const status = await sb.dxJson(['status'], StatusOutputSchema);
    expect(status.json.jobs).toHaveLength(1);
  }, 180_000);

  it('refuses a start beyond the provider concurrency cap with provider_concurrency_cap_exceeded', async () => {
    const env = { DX_RUNNER_MAX_PARALLEL_FAKE: '2' };
    const hang = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    for (const id of ['bd-c1', 'bd-c2']) {
      const r = await sb.dx(
        ['start', '--beads', id, '--provider', 'fake', '--prompt-file', hang, '--worktree', sb.worktree(id)],
        { env },
      );
      expect(r.code).toBe(0);
    }
    const third = await sb.dx(
      [
        'start',
        '--beads',
        'bd-c3',
        '--provider',
        'fake',
        '--prompt-file',
        hang,
        '--worktree',
        sb.worktree('bd-c3'),
        '--json',
      ],
      { env },
    );
    expect(third.code).toBe(1);
    const err = ErrorOutputSchema.parse(JSON.parse(third.stdout)).error;
    expect(err.reason_code).toBe('provider_concurrency_cap_exceeded');
    expect(err.message).toContain('2/2');
    expect(err.next_action).toBe('wait_for_provider_capacity_or_switch_provider');
    // once one job ends, the slot is free again
    expect((await sb.dx(['stop', '--beads', 'bd-c1'])).code).toBe(0);
    const retry = await sb.dx(
      [
        'start',
        '--beads',
        'bd-c3',
        '--provider',
        'fake',
        '--prompt-file',
        hang,
        '--worktree',
        path.join(sb.agents, 'bd-c3', 'repo'),
      ],
      { env },
    );
    expect(retry.code).toBe(0);
  });

  it('concurrent starts of different ids under a cap of 2 launch exactly 2', async () => {
    const env = { DX_RUNNER_MAX_PARALLEL_FAKE: '2' };
    const hang = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    const ids = ['bd-p1', 'bd-p2', 'bd-p3', 'bd-p4', 'bd-p5'];
    const wts = ids.map((id) => sb.worktree(id));
    const results = await Promise.all(
      ids.map((id, i) =>
        sb.dx(['start', '--beads', id, '--provider', 'fake', '--prompt-file', hang, '--worktree', wts[i]], { env }),
      ),
    );
    expect(results.filter((r) => r.code === 0)).toHaveLength(2);
    expect(
      results.filter((r) => r.code !== 0).every((r) => r.stderr.includes('provider_concurrency_cap_exceeded')),
    ).toBe(true);
  }, 120_000);
});
