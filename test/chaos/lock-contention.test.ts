/**
 * State locks under contention with holders that die: eight processes take one lock again and
 * again, some killed while holding it. Never two holders at once, and a dead holder's lock is always
 * recovered: no contender waits out its timeout on a lock nobody holds.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

const CONTENDER = path.join(REPO_ROOT, 'test', 'chaos', 'fixtures', 'lock-contender.mjs');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-lock-contention-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** `O` per time held together with another contender, `T` per lock timeout */
  printed: string;
}

function contender(file: string, markers: string): Promise<Ended> {
  const child = spawn(process.execPath, [CONTENDER, file, markers, '30', '15'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let printed = '';
  child.stdout.on('data', (d: Buffer) => (printed += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, printed })));
}

const count = (ended: Ended[], mark: string) => ended.reduce((n, e) => n + e.printed.split(mark).length - 1, 0);

describe('state locks with holders that die', () => {
  it('never have two holders, and a dead holder never keeps the others waiting', async () => {
    const file = path.join(dir, 'x.lock');
    const markers = path.join(dir, 'held');
    fs.mkdirSync(markers);
    const ended: Ended[] = [];
    for (let round = 0; round < 6; round++)
      ended.push(...(await Promise.all(Array.from({ length: 8 }, () => contender(file, markers)))));
    // each ended normally or was killed holding the lock, as planned
    expect(ended.filter((e) => !(e.code === 0 || e.signal === 'SIGKILL'))).toEqual([]);
    expect(ended.filter((e) => e.signal === 'SIGKILL').length).toBeGreaterThan(10);
    expect(count(ended, 'O')).toBe(0);
    expect(count(ended, 'T')).toBe(0);
  }, 120_000);
});
