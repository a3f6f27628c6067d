import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readProcessInfo } from '../process/identity.js';
import { parseKv } from './kv.js';
import { acquireLock, LockTimeoutError, pruneStaleLocks } from './lock.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-lock-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('state locks', () => {
  it('is exclusive and bounded in time', async () => {
    const a = await acquireLock(root, 'x');
    await expect(acquireLock(root, 'x', 200)).rejects.toBeInstanceOf(LockTimeoutError);
    a.release();
    const b = await acquireLock(root, 'x', 200);
    b.release();
  });

  it('takes over a lock whose holder died', async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    fs.mkdirSync(path.join(root, '.locks'), { recursive: true });
    fs.writeFileSync(path.join(root, '.locks', 'y.lock'), `pid=${dead.stdout}\nstart_ticks=1\n`);
    const lock = await acquireLock(root, 'y', 1000);
    lock.release();
    fs.writeFileSync(path.join(root, '.locks', 'z.lock'), `pid=${dead.stdout}\nstart_ticks=1\n`);
    expect(pruneStaleLocks(root)).toBe(1);
    expect(fs.readdirSync(path.join(root, '.locks'))).toEqual([]);
  });

  it('names its holder by pid and kernel start time, every time it is taken', async () => {
    const me = readProcessInfo(process.pid)!;
    for (const name of ['a', 'b']) {
      const lock = await acquireLock(root, name);
      const holder = parseKv(fs.readFileSync(lock.file, 'utf8'));
      expect([Number(holder.pid), Number(holder.start_ticks)]).toEqual([process.pid, me.startTicks]);
      expect(me.startTicks).toBeGreaterThan(0);
      lock.release();
    }
  });
});
