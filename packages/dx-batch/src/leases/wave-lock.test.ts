import { spawnSync } from 'node:child_process';
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

  it('refuses an item another live wave works on, and takes it from a dead one', () => {
    const other = wavePaths(root, 'wave-0');
    const lock = WaveLock.acquire(other, { ttlMinutes: 10 });
    acquireItemLease(other, 'bd-1', lock.token, 10);
    expect(() => acquireItemLease(paths, 'bd-1', 1, 10)).toThrow(/item bd-1 is being worked on by wave wave-0/);
    lock.release();
    acquireItemLease(paths, 'bd-1', 1, 10);
  });
});
