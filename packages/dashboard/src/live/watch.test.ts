import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateWatcher, type StateChanges } from './watch.js';

let dir: string;
let watcher: StateWatcher | undefined;
const seen: StateChanges[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-watch-'));
  seen.length = 0;
});
afterEach(() => {
  watcher?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Wait (bounded) until the watcher has reported something matching. */
async function until(what: string, test: (c: StateChanges) => boolean): Promise<StateChanges> {
  for (let i = 0; i < 100; i++) {
    const hit = seen.find(test);
    if (hit) return hit;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no change reported: ${what}; saw ${JSON.stringify(seen.map((c) => ({ ...c, jobs: [...c.jobs] })))}`);
}

describe('watching the state roots', () => {
  it('names the job whose file changed, and sees waves and night reports', async () => {
    const state = path.join(dir, 'state');
    fs.mkdirSync(path.join(state, 'fake'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'batch', 'waves', 'w1'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'nightly', 'reports'), { recursive: true });
    watcher = new StateWatcher({ state, batch: path.join(dir, 'batch'), nightly: path.join(dir, 'nightly') }, (c) =>
      seen.push(c),
    );
    watcher.ensure();

    fs.writeFileSync(path.join(state, 'fake', 'bd-x.heartbeat'), 'events=1\n');
    const jobChange = await until('bd-x', (c) => c.jobs.has('bd-x'));
    expect(jobChange.allJobs).toBe(false);
    expect([...jobChange.jobs]).toEqual(['bd-x']);

    fs.writeFileSync(path.join(dir, 'batch', 'waves', 'w1', 'wave_state.json'), '{}');
    await until('wave', (c) => c.waves);
    fs.writeFileSync(path.join(dir, 'nightly', 'reports', '20261129T010000Z.json'), '{}');
    await until('night', (c) => c.nights);
  });

  it('picks up roots and provider directories created after it started', async () => {
    const state = path.join(dir, 'state');
    watcher = new StateWatcher({ state, batch: path.join(dir, 'batch'), nightly: path.join(dir, 'nightly') }, (c) =>
      seen.push(c),
    );
    watcher.ensure(); // nothing exists yet
    fs.mkdirSync(state);
    watcher.ensure(); // the server's tick
    fs.mkdirSync(path.join(state, 'gemini'));
    await until('new provider dir', (c) => c.allJobs);
    fs.writeFileSync(path.join(state, 'gemini', 'bd-y.outcome'), 'state=success\n');
    await until('bd-y', (c) => c.jobs.has('bd-y'));
  });

  it('ignores what is not a job file', async () => {
    const state = path.join(dir, 'state');
    fs.mkdirSync(path.join(state, 'fake'), { recursive: true });
    watcher = new StateWatcher({ state, batch: path.join(dir, 'batch'), nightly: path.join(dir, 'nightly') }, (c) =>
      seen.push(c),
    );
    watcher.ensure();
    fs.writeFileSync(path.join(state, 'fake', 'notes.txt'), 'x');
    fs.writeFileSync(path.join(state, 'fake', 'bd-z.meta'), 'x');
    const change = await until('bd-z', (c) => c.jobs.has('bd-z'));
    expect([...change.jobs]).toEqual(['bd-z']);
  });
});
