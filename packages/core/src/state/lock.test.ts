import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { currentBootId, readProcessInfo } from '../process/identity.js';
import { parseKv } from './kv.js';
import { acquireLock, acquireLockFileSync, LockTimeoutError, pruneStaleLocks } from './lock.js';

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
    // a lock half taken (written aside, never linked) by a process that died; a live taker's is kept
    fs.writeFileSync(path.join(root, '.locks', `.z.lock.${dead.stdout}.1.tmp`), `pid=${dead.stdout}\nstart_ticks=1\n`);
    const me = readProcessInfo(process.pid)!;
    const live = `.z.lock.${process.pid}.2.tmp`;
    fs.writeFileSync(path.join(root, '.locks', live), `pid=${process.pid}\nstart_ticks=${me.startTicks}\n`);
    expect(pruneStaleLocks(root)).toBe(2);
    expect(fs.readdirSync(path.join(root, '.locks'))).toEqual([live]);
  });

  it('is never seen without its holder, so a waiter cannot take a live holder for dead', async () => {
    const file = path.join(root, 'w.lock');
    const ready = path.join(root, 'ready');
    const stop = path.join(root, 'stop');
    // another process reads the lock file as a waiter would, as often as it can, for at most 10 s
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `const fs = require('fs'); const [file, ready, stop] = process.argv.slice(1);
         let reads = 0, empty = 0; const end = Date.now() + 10000;
         fs.writeFileSync(ready, '');
         while (Date.now() < end && !fs.existsSync(stop)) {
           try { if (fs.readFileSync(file, 'utf8') === '') empty++; reads++; } catch {}
         }
         process.stdout.write(JSON.stringify({ reads, empty }));`,
        file,
        ready,
        stop,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    reader.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => reader.on('close', resolve));
    await expect.poll(() => fs.existsSync(ready), { timeout: 10_000 }).toBe(true);
    const end = Date.now() + 1000;
    let taken = 0;
    while (Date.now() < end) {
      acquireLockFileSync(file, 1000).release();
      taken++;
    }
    fs.writeFileSync(stop, '');
    await exited;
    const seen = JSON.parse(out) as { reads: number; empty: number };
    expect(taken).toBeGreaterThan(100);
    expect(seen.reads).toBeGreaterThan(0);
    expect(seen.empty).toBe(0);
  });

  it("breaks a dead holder's lock only under the breaker guard, and clears a guard whose breaker died", async () => {
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    const me = readProcessInfo(process.pid)!;
    const locks = path.join(root, '.locks');
    fs.mkdirSync(locks, { recursive: true });
    const deadHolder = `pid=${dead.stdout}\nstart_ticks=1\n`;
    fs.writeFileSync(path.join(locks, 'g.lock'), deadHolder);
    // another breaker (alive) is at it: the lock is left to it, even though its holder is dead
    fs.writeFileSync(path.join(locks, 'g.lock.break'), `pid=${process.pid}\nstart_ticks=${me.startTicks}\n`);
    await expect(acquireLock(root, 'g', 300)).rejects.toBeInstanceOf(LockTimeoutError);
    expect(fs.readFileSync(path.join(locks, 'g.lock'), 'utf8')).toBe(deadHolder);
    // that breaker died mid-way: its guard is cleared and the lock taken
    fs.writeFileSync(path.join(locks, 'g.lock.break'), deadHolder);
    const lock = await acquireLock(root, 'g', 2000);
    expect(parseKv(fs.readFileSync(lock.file, 'utf8')).pid).toBe(String(process.pid));
    lock.release();
    expect(fs.readdirSync(locks)).toEqual([]);
    // prune clears a dead breaker's guard too
    fs.writeFileSync(path.join(locks, 'h.lock.break'), deadHolder);
    expect(pruneStaleLocks(root)).toBe(1);
    expect(fs.readdirSync(locks)).toEqual([]);
  });

  it('takes over a lock held before a reboot, even when its pid and start time match a process now', async () => {
    // start times count from boot: after a reboot the same pid + start time can be another process
    const me = readProcessInfo(process.pid)!;
    fs.mkdirSync(path.join(root, '.locks'), { recursive: true });
    const boot = currentBootId()!;
    const earlier = boot.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    fs.writeFileSync(
      path.join(root, '.locks', 'r.lock'),
      `pid=${process.pid}\nstart_ticks=${me.startTicks}\nboot_id=${earlier}\n`,
    );
    const lock = await acquireLock(root, 'r', 1000);
    lock.release();
    // the same holder in this boot is alive: its lock is kept
    fs.writeFileSync(
      path.join(root, '.locks', 's.lock'),
      `pid=${process.pid}\nstart_ticks=${me.startTicks}\nboot_id=${boot}\n`,
    );
    await expect(acquireLock(root, 's', 200)).rejects.toBeInstanceOf(LockTimeoutError);
  });

  it('names its holder by pid, kernel start time and boot, every time it is taken', async () => {
    const me = readProcessInfo(process.pid)!;
    for (const name of ['a', 'b']) {
      const lock = await acquireLock(root, name);
      const holder = parseKv(fs.readFileSync(lock.file, 'utf8'));
      expect([Number(holder.pid), Number(holder.start_ticks)]).toEqual([process.pid, me.startTicks]);
      expect(holder.boot_id).toBe(currentBootId());
      expect(me.startTicks).toBeGreaterThan(0);
      lock.release();
    }
  });
});
