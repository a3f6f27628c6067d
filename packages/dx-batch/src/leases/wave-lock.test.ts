import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { wavePaths, type WavePaths } from '../waves/paths.js';
import {
  acquireAttemptLease,
  acquireItemLease,
  attemptLeaseFile,
  releaseAttemptLease,
  removeAbandonedLeaseWrites,
  staleAttemptLeases,
} from './item-leases.js';
import { FencedError, readHolder, WaveLock } from './wave-lock.js';

let root: string;
let paths: WavePaths;

/** A pid that surely is not running: a child that already exited. */
function deadPid(): number {
  return Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
  );
}

/**
 * Another process running `script` (an ES module that can import the built @dx packages), returned
 * once it has created `inside` — the point where it pauses. `exited` resolves to its exit code.
 */
async function pausedProcess(script: string, inside: string) {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: process.cwd(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const run = { child, stderr: '', exited: new Promise<number | null>((resolve) => child.on('close', resolve)) };
  child.stderr.on('data', (d: Buffer) => (run.stderr += d.toString()));
  for (let i = 0; i < 200 && !fs.existsSync(inside) && child.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 25));
  return run;
}

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-batch-lease-'));
  paths = wavePaths(root, 'wave-1');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('wave lock', () => {
  it('refuses a second orchestrator while the holder is alive', () => {
    const lock = WaveLock.acquire(paths, { ttlMinutes: 10 });
    expect(() => WaveLock.acquire(paths, { ttlMinutes: 10 })).toThrow(/already being run by pid \d+/);
    lock.release();
    expect(fs.existsSync(paths.lock)).toBe(false);
  });

  it('takes over from a dead holder with a higher token, and the old holder can no longer write', () => {
    const old = WaveLock.acquire(paths, { ttlMinutes: 10 });
    const holder = readHolder(paths.lock)!;
    fs.writeFileSync(paths.lock, JSON.stringify({ ...holder, pid: deadPid() }));
    const fresh = WaveLock.acquire(paths, { ttlMinutes: 10 });
    expect(fresh.token).toBe(old.token + 1);
    expect(() => old.assertHeld()).toThrow(FencedError);
    expect(() => old.renew()).toThrow(/taken over/);
    fresh.assertHeld();
    // the fenced holder's release leaves the new holder's lock alone
    old.release();
    expect(readHolder(paths.lock)?.token).toBe(fresh.token);
    fresh.release();
  });

  it('takes over a holder that stopped renewing within the TTL', () => {
    WaveLock.acquire(paths, { ttlMinutes: 10 });
    const holder = readHolder(paths.lock)!;
    const silentSince = new Date(Date.now() - 11 * 60_000);
    fs.writeFileSync(paths.lock, JSON.stringify({ ...holder, renewed_at: silentSince.toISOString() }));
    fs.utimesSync(paths.lock, silentSince, silentSince);
    expect(WaveLock.acquire(paths, { ttlMinutes: 10 }).token).toBe(2);
  });

  it('renewing keeps a holder fresh without rewriting the lock, so it cannot undo a takeover', () => {
    const running = WaveLock.acquire(paths, { ttlMinutes: 10 });
    const longAgo = new Date(Date.now() - 11 * 60_000);
    fs.utimesSync(paths.lock, longAgo, longAgo);
    const before = fs.readFileSync(paths.lock, 'utf8');
    running.renew();
    expect(fs.readFileSync(paths.lock, 'utf8')).toBe(before);
    expect(Date.now() - Date.parse(readHolder(paths.lock)!.renewed_at)).toBeLessThan(60_000);
    // a cancel taking over now is refused nothing; the old holder is fenced and its renew writes nothing
    const cancel = WaveLock.acquire(paths, { ttlMinutes: 10, force: true });
    expect(() => running.renew()).toThrow(FencedError);
    expect(readHolder(paths.lock)?.token).toBe(cancel.token);
    cancel.assertHeld();
  });

  it('cancel forces the lock and fences a live orchestrator', () => {
    const running = WaveLock.acquire(paths, { ttlMinutes: 10 });
    const cancel = WaveLock.acquire(paths, { ttlMinutes: 10, force: true, minToken: 5 });
    expect(cancel.token).toBe(6);
    expect(() => running.assertHeld()).toThrow(FencedError);
  });
});

describe('fenced writes', () => {
  it("a takeover waits for the old holder's write in flight, so that write can never land over the new holder's", async () => {
    // the old orchestrator: another process, paused inside its fenced write (between check and write)
    const inside = path.join(root, 'inside');
    const stateFile = path.join(root, 'state.txt');
    const old = await pausedProcess(
      `import fs from 'node:fs';
       import { WaveLock, wavePaths } from '@dx/dx-batch';
       const lock = WaveLock.acquire(wavePaths(${JSON.stringify(root)}, 'wave-1'), { ttlMinutes: 10 });
       lock.fenced(() => {
         fs.writeFileSync(${JSON.stringify(inside)}, '');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1500);
         fs.writeFileSync(${JSON.stringify(stateFile)}, 'running (old holder)');
       });`,
      inside,
    );
    try {
      expect(fs.existsSync(inside), old.stderr).toBe(true);
      // a cancel takes the wave over and writes its state
      const cancel = WaveLock.acquire(paths, { ttlMinutes: 10, force: true });
      cancel.fenced(() => fs.writeFileSync(stateFile, 'cancelled'));
      expect(await old.exited, old.stderr).toBe(0);
      expect(fs.readFileSync(stateFile, 'utf8')).toBe('cancelled');
      expect(cancel.token).toBe(2);
      cancel.release();
    } finally {
      if (old.child.exitCode === null) old.child.kill('SIGKILL');
    }
  });

  it('breaks the write lock of a holder that died inside it', () => {
    const lock = WaveLock.acquire(paths, { ttlMinutes: 10 });
    fs.writeFileSync(`${paths.lock}.mutex`, `pid=${deadPid()}\nstart_ticks=1\n`);
    expect(lock.fenced(() => 'written')).toBe('written');
    lock.release();
    expect(fs.readdirSync(paths.dir)).toEqual([]);
  });
});

describe('attempt and item leases', () => {
  it('stamps each attempt with the token; an older token cannot take a newer lease', () => {
    acquireAttemptLease(paths, 'bd-1', 1, 3);
    expect(JSON.parse(fs.readFileSync(attemptLeaseFile(paths, 'bd-1', 1), 'utf8'))).toMatchObject({
      beads_id: 'bd-1',
      attempt: 1,
      token: 3,
    });
    expect(() => acquireAttemptLease(paths, 'bd-1', 1, 2)).toThrow(FencedError);
    expect(staleAttemptLeases(paths, 4)).toEqual(['bd-1+attempt1.lock']);
    acquireAttemptLease(paths, 'bd-1', 1, 4);
    expect(staleAttemptLeases(paths, 4)).toEqual([]);
    releaseAttemptLease(paths, 'bd-1', 1, 2);
    expect(fs.existsSync(attemptLeaseFile(paths, 'bd-1', 1))).toBe(true);
    releaseAttemptLease(paths, 'bd-1', 1, 4);
    expect(fs.existsSync(attemptLeaseFile(paths, 'bd-1', 1))).toBe(false);
  });

  it("the orchestrator taking a wave over removes an older holder's unfinished lease writes, nothing else", () => {
    const lease = (token: number) => JSON.stringify({ wave_id: 'wave-1', beads_id: 'bd-2', attempt: 1, token, pid: 1 });
    acquireAttemptLease(paths, 'bd-1', 1, 5);
    fs.writeFileSync(path.join(paths.leases, '.bd-2+attempt1.lock.4242.7.tmp'), lease(4)); // killed mid-write
    fs.writeFileSync(path.join(paths.leases, '.bd-3+attempt1.lock.4243.1.tmp'), '{"wave_id":"wa'); // cut short
    fs.writeFileSync(path.join(paths.leases, '.bd-4+attempt1.lock.4244.1.tmp'), lease(6)); // the new holder's own, in flight
    expect(staleAttemptLeases(paths, 6)).toHaveLength(3);
    removeAbandonedLeaseWrites(paths, 6);
    expect(fs.readdirSync(paths.leases).sort()).toEqual(['.bd-4+attempt1.lock.4244.1.tmp', 'bd-1+attempt1.lock']);
  });

  it('refuses an item another live wave works on, and takes it from a dead one', () => {
    const other = wavePaths(root, 'wave-0');
    const lock = WaveLock.acquire(other, { ttlMinutes: 10 });
    acquireItemLease(other, 'bd-1', lock.token, 10);
    expect(() => acquireItemLease(paths, 'bd-1', 1, 10)).toThrow(/item bd-1 is being worked on by wave wave-0/);
    lock.release();
    acquireItemLease(paths, 'bd-1', 1, 10);
  });

  it("waits for another wave's takeover of a dead wave's item, then sees it taken", async () => {
    // a dead wave's lease on bd-2
    const lease = path.join(paths.itemLeases, 'bd-2.lock');
    fs.mkdirSync(paths.itemLeases, { recursive: true });
    fs.writeFileSync(
      lease,
      `${JSON.stringify({ wave_id: 'wave-dead', beads_id: 'bd-2', token: 1, pid: deadPid() })}\n`,
    );
    // another wave, live, paused inside its takeover of that lease (between reading and writing it)
    const inside = path.join(root, 'inside');
    const stop = path.join(root, 'stop');
    const other = await pausedProcess(
      `import fs from 'node:fs';
       import { acquireLockFileSync } from '@dx/core';
       import { WaveLock, wavePaths } from '@dx/dx-batch';
       const lock = WaveLock.acquire(wavePaths(${JSON.stringify(root)}, 'wave-2'), { ttlMinutes: 10 });
       const takeover = acquireLockFileSync(${JSON.stringify(`${lease}.takeover`)});
       fs.writeFileSync(${JSON.stringify(inside)}, '');
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
       fs.writeFileSync(${JSON.stringify(lease)}, JSON.stringify({ wave_id: 'wave-2', beads_id: 'bd-2', token: lock.token, pid: process.pid }) + '\\n');
       takeover.release();
       for (let i = 0; i < 200 && !fs.existsSync(${JSON.stringify(stop)}); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
       lock.release();`,
      inside,
    );
    try {
      expect(fs.existsSync(inside), other.stderr).toBe(true);
      expect(() => acquireItemLease(paths, 'bd-2', 1, 10)).toThrow(/item bd-2 is being worked on by wave wave-2/);
      fs.writeFileSync(stop, '');
      expect(await other.exited, other.stderr).toBe(0);
    } finally {
      if (other.child.exitCode === null) other.child.kill('SIGKILL');
    }
  });
});
