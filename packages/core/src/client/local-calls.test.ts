import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProviderRegistry } from '../providers/registry.js';
import { DxRunnerError } from './dx-runner-client.js';
import { asDxRunnerError, LocalReads } from './local-reads.js';
import { LocalStarts } from './local-starts.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-local-calls-'));
  dirs.push(d);
  return d;
}

describe('in-process calls answer errors as dx-runner would', () => {
  it("keeps a core error's exit code and reason, and turns anything unexpected into internal_error", () => {
    const unexpected = asDxRunnerError(new TypeError('boom'), ['start', '--beads', 'bd-1']);
    expect(unexpected).toBeInstanceOf(DxRunnerError);
    expect(unexpected).toMatchObject({ exitCode: 1, reasonCode: 'internal_error', message: 'boom' });
    expect(unexpected.args).toEqual(['start', '--beads', 'bd-1', '--json']);
  });

  it('reads: a job nobody started is job_not_found; a state root others can write is refused, not read', () => {
    const home = tmp();
    const reads = new LocalReads({ HOME: home, DX_RUNNER_STATE_DIR: path.join(home, 'state') });
    expect(() => reads.check('bd-none')).toThrow(expect.objectContaining({ reasonCode: 'job_not_found' }));
    expect(reads.checkMany(['bd-a', 'bd-b'])).toEqual({ jobs: [], missing: ['bd-a', 'bd-b'] });
    const open = path.join(home, 'open');
    fs.mkdirSync(open, { mode: 0o777 });
    fs.chmodSync(open, 0o777);
    const unsafe = new LocalReads({ HOME: home, DX_RUNNER_STATE_DIR: open });
    let thrown: unknown;
    try {
      unsafe.status();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(DxRunnerError);
    expect((thrown as DxRunnerError).reasonCode).not.toBe('internal_error');
  });

  it('starts: unavailable when the providers cannot be loaded; an unknown provider is refused with its reason', async () => {
    const home = tmp();
    const env = { HOME: home, DX_RUNNER_STATE_DIR: path.join(home, 'state') };
    const broken = new LocalStarts({ env, load: () => Promise.reject(new Error('no oclif here')) });
    expect(await broken.available()).toBe(false);
    const starts = new LocalStarts({ env, load: async () => ({ version: '0.0.0', registry: new ProviderRegistry() }) });
    expect(await starts.available()).toBe(true);
    await expect(starts.start({ beads: 'bd-1', provider: 'nope', promptFile: '/dev/null' })).rejects.toMatchObject({
      reasonCode: 'provider_not_found',
      exitCode: 20,
    });
  });
});
