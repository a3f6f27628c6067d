import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WaveHosts } from '../fleet/hosts.js';
import { sampleWave } from '../testing/waves.js';
import { wavePaths } from './paths.js';
import { pruneWaves } from './retention.js';
import { writeWave, type Attempt } from './state.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-wave-retention-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const attempt = (host: string): Attempt => ({
  attempt: 1,
  phase: 'implement',
  provider: 'opencode',
  host,
  job_beads: 'bd-1',
  run_instance: null,
  started_at: '2026-01-01T00:00:00.000Z',
  completed_at: '2026-01-01T00:10:00.000Z',
  result: 'exited_ok',
  reason_code: null,
  verdict: null,
  duration_sec: 600,
  tokens_input: null,
  tokens_output: null,
});

/** A failed wave (not released when it ended) whose attempts ran on `hosts`, finished long ago. */
function oldWave(id: string, hosts: string[]): void {
  const state = sampleWave(id, ['bd-1']);
  Object.assign(state, { status: 'failed', completed_at: '2026-01-01T00:10:00.000Z' });
  state.items[0].attempts = hosts.map(attempt);
  writeWave(wavePaths(root, id), state);
}

/** Hosts as the policy names them; `down` ones refuse the release. */
function fleet(known: string[], down: string[] = []) {
  const released: string[] = [];
  const hosts = {
    knows: (host: string) => host === 'local' || known.includes(host),
    client: (host: string) => ({
      release: async (owner: string) => {
        if (down.includes(host)) throw new Error(`${host} did not answer`);
        released.push(`${host} ${owner}`);
      },
    }),
  } as unknown as WaveHosts;
  return { hosts, released };
}

const options = { olderThanMs: 86_400_000, keepLast: 0, dryRun: false };

describe('pruneWaves', () => {
  it("releases the wave's hold on every host its jobs ran on that the fleet still names, then removes it", async () => {
    oldWave('w-fleet', ['local', 'h1', 'h1', 'retired']);
    const { hosts, released } = fleet(['h1']);
    const result = await pruneWaves(root, options, hosts);
    expect(released).toEqual(['local dx-batch:w-fleet', 'h1 dx-batch:w-fleet']);
    expect(result.removed.map((w) => w.wave_id)).toEqual(['w-fleet']);
    expect(fs.existsSync(wavePaths(root, 'w-fleet').dir)).toBe(false);
  });

  it('keeps a wave whose hold a host could not release, for the next prune', async () => {
    oldWave('w-down', ['local', 'h1']);
    const down = await pruneWaves(root, options, fleet(['h1'], ['h1']).hosts);
    expect(down).toMatchObject({ removed: [], kept: { hold_not_released: 1 } });
    expect(fs.existsSync(wavePaths(root, 'w-down').state)).toBe(true);
    const up = await pruneWaves(root, options, fleet(['h1']).hosts);
    expect(up.removed.map((w) => w.wave_id)).toEqual(['w-down']);
  });
});
