import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JOURNAL_LIMIT } from './journal.js';
import { wavePaths } from './paths.js';
import { sampleWave } from '../testing/waves.js';
import { loadWave, writeWave, type WaveState } from './state.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-wave-journal-'));
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const wave = (id: string, size: number): WaveState =>
  sampleWave(
    id,
    Array.from({ length: size }, (_, i) => `bd-${i}`),
  );

/** One transition of item i, as the orchestrator's apply() makes it. */
function step(state: WaveState, i: number): void {
  Object.assign(state.items[i], { state: 'IMPLEMENTING', status: 'IMPLEMENTING', attempt: state.items[i].attempt + 1 });
  writeWave(wavePaths(root, state.wave_id), state, [state.items[i]]);
}

const journals = (id: string) =>
  fs.readdirSync(wavePaths(root, id).dir).filter((n) => n.startsWith('wave_state.journal.'));

describe("a wave's state: a snapshot and a journal of the transitions since", () => {
  it('a transition appends the item it changed; the snapshot is not rewritten', () => {
    const state = wave('w-append', 50);
    const paths = wavePaths(root, 'w-append');
    writeWave(paths, state);
    const snapshot = fs.readFileSync(paths.state, 'utf8');
    step(state, 7);
    expect(fs.readFileSync(paths.state, 'utf8')).toBe(snapshot);
    const [journal] = journals('w-append');
    const lines = fs.readFileSync(path.join(paths.dir, journal), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    expect((JSON.parse(lines[0]) as { items: Array<{ beads_id: string }> }).items.map((i) => i.beads_id)).toEqual([
      'bd-7',
    ]);
    expect(loadWave(paths)).toEqual(state);
  });

  it('every JOURNAL_LIMIT transitions the snapshot is taken again and the old journal goes; a reader always sees the writer’s state', async () => {
    const state = wave('w-limit', 5);
    const paths = wavePaths(root, 'w-limit');
    writeWave(paths, state);
    for (let n = 0; n < JOURNAL_LIMIT * 2 + 3; n++) {
      step(state, n % 5);
      const open = journals('w-limit');
      expect(open.length).toBeLessThanOrEqual(1);
      for (const name of open)
        expect(fs.readFileSync(path.join(paths.dir, name), 'utf8').trim().split('\n').length).toBeLessThanOrEqual(
          JOURNAL_LIMIT,
        );
    }
    expect(loadWave(paths)).toEqual(state);
    // a reader in another process: a fresh copy of the module, which has written nothing
    vi.resetModules();
    const fresh = await import('./state.js');
    expect(fresh.loadWave(paths)).toEqual(state);
  });

  it('a new status writes a snapshot: a finished wave is one file', () => {
    const state = wave('w-done', 3);
    const paths = wavePaths(root, 'w-done');
    writeWave(paths, state);
    step(state, 1);
    state.status = 'completed';
    writeWave(paths, state);
    expect(journals('w-done')).toEqual([]);
    expect(loadWave(paths)).toEqual(state);
  });

  it('a line cut short by a writer killed mid-append is a transition that never happened; the next starts on a line of its own', () => {
    const state = wave('w-torn', 3);
    const paths = wavePaths(root, 'w-torn');
    writeWave(paths, state);
    step(state, 0);
    const before = structuredClone(state);
    step(state, 1);
    const file = path.join(paths.dir, journals('w-torn')[0]);
    const text = fs.readFileSync(file, 'utf8');
    const [first, second] = text.trim().split('\n');
    // killed while appending transition 2: its line is cut short
    fs.writeFileSync(file, `${first}\n${second.slice(0, 40)}`);
    expect(loadWave(paths)).toEqual(before);
    // the writer that takes over appends transition 2 again, after the torn line
    step(before, 1);
    expect(fs.readFileSync(file, 'utf8').split('\n')[1]).toBe(second.slice(0, 40));
    expect(loadWave(paths)).toEqual(before);
  });

  it('a transition missing between two others is corruption, named with its file', () => {
    const state = wave('w-gap', 3);
    const paths = wavePaths(root, 'w-gap');
    writeWave(paths, state);
    step(state, 0);
    step(state, 1);
    const file = path.join(paths.dir, journals('w-gap')[0]);
    const [first, second] = fs.readFileSync(file, 'utf8').trim().split('\n');
    fs.writeFileSync(file, `${first.slice(0, 30)}\n${second}\n`);
    expect(() => loadWave(paths)).toThrow(
      /wave_state\.journal\.\d+\.jsonl: transition \d+ is missing \(line 2 holds \d+\)/,
    );
  });
});
