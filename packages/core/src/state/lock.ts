import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, selfIdentity } from '../process/identity.js';
import { deadlineIn } from '../process/timers.js';
import { ensurePrivateDir, isTempName, readFileIfExists, writeFileExclusive } from './atomic.js';
import { parseKv, serializeKv } from './kv.js';

export interface Lock {
  readonly file: string;
  release(): void;
}

export class LockTimeoutError extends Error {
  constructor(
    readonly file: string,
    readonly holder: string | undefined,
  ) {
    super(`timed out waiting for lock ${file}${holder ? ` (held by pid ${holder})` : ''}`);
    this.name = 'LockTimeoutError';
  }
}

function holderIsDead(content: string | undefined): boolean {
  if (content === undefined) return false;
  try {
    const kv = parseKv(content);
    const pid = Number(kv.pid);
    const startTicks = Number(kv.start_ticks);
    if (!Number.isInteger(pid)) return true;
    return !isAlive({ pid, startTicks: Number.isFinite(startTicks) ? startTicks : 0, bootId: kv.boot_id });
  } catch {
    // A half-written lock from a crashed holder is as dead as its holder.
    return true;
  }
}

/**
 * Remove a lock whose holder died, holding `<file>.break` while doing so. Under that guard the lock
 * is read again and removed only if its holder is still dead: no other breaker can act, the dead
 * holder cannot, and nobody can take the lock while the file exists — so a lock taken after this
 * breaker judged the old one dead is never removed (renaming it aside and linking it back, as
 * before, left a window in which a live holder's lock was missing). A guard left by a breaker that
 * died is cleared for the next attempt. Returns whether the lock was removed.
 */
function breakStaleLock(file: string): boolean {
  const guard = `${file}.break`;
  if (!writeFileExclusive(guard, holderContent(), 0o600, { durable: false })) {
    if (holderIsDead(readFileIfExists(guard))) fs.rmSync(guard, { force: true });
    return false;
  }
  try {
    if (!holderIsDead(readFileIfExists(file))) return false;
    fs.rmSync(file, { force: true });
    return true;
  } finally {
    fs.rmSync(guard, { force: true });
  }
}

/** This process as a lock's holder: pid + kernel start time, so a dead holder is recognised. */
function holderContent(): string {
  const me = selfIdentity();
  return serializeKv({
    pid: me.pid,
    start_ticks: me.startTicks,
    boot_id: me.bootId,
    acquired_at: new Date().toISOString(),
  });
}

/**
 * One attempt to create the lock file; undefined when someone holds it. The file appears with its
 * holder already in it: created empty and written after, a waiter reading it in between would take
 * the holder for dead and break a live lock.
 */
function tryLock(file: string, content: string): Lock | undefined {
  if (!writeFileExclusive(file, content, 0o600, { durable: false })) return undefined;
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      if (readFileIfExists(file) === content) fs.rmSync(file, { force: true });
    },
  };
}

/** After a failed attempt: breaks a dead holder's lock (true: try again at once). */
function brokeDeadHolder(file: string): boolean {
  return holderIsDead(readFileIfExists(file)) && breakStaleLock(file);
}

function timedOut(file: string): LockTimeoutError {
  const holder = readFileIfExists(file);
  let holderPid: string | undefined;
  try {
    holderPid = holder ? parseKv(holder).pid : undefined;
  } catch {
    holderPid = undefined;
  }
  return new LockTimeoutError(file, holderPid);
}

/**
 * One acquisition, step by step: each attempt takes the lock (returned), breaks a dead holder's and
 * tries again at once, or yields how long to wait before the next attempt (doubling up to
 * `maxDelayMs`); past timeoutMs it throws LockTimeoutError. The caller decides how to wait.
 */
function* attempts(file: string, timeoutMs: number, firstDelayMs: number, maxDelayMs: number): Generator<number, Lock> {
  const content = holderContent();
  const deadline = deadlineIn(timeoutMs);
  let delay = firstDelayMs;
  for (;;) {
    const lock = tryLock(file, content);
    if (lock) return lock;
    if (brokeDeadHolder(file)) continue;
    if (deadline.passed()) throw timedOut(file);
    yield delay;
    delay = Math.min(delay * 2, maxDelayMs);
  }
}

/**
 * An exclusive lock file under `<root>/.locks`, owned by pid + start time so a crashed holder's lock
 * is recovered instead of blocking forever. Waiting is bounded by timeoutMs.
 */
export async function acquireLock(root: string, name: string, timeoutMs = 30_000): Promise<Lock> {
  const dir = path.join(root, '.locks');
  ensurePrivateDir(dir);
  const steps = attempts(path.join(dir, `${name}.lock`), timeoutMs, 5, 100);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    await sleep(step.value + Math.floor(Math.random() * step.value));
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * The same lock at a path of the caller's choosing, taken synchronously: for critical sections of
 * a few file operations that must not interleave with another process's (a fenced write and the
 * takeover that fences it). Waits in 1–10 ms steps, bounded by timeoutMs.
 */
export function acquireLockFileSync(file: string, timeoutMs = 10_000): Lock {
  const steps = attempts(file, timeoutMs, 1, 10);
  for (let step = steps.next(); ; step = steps.next()) {
    if (step.done) return step.value;
    Atomics.wait(sleeper, 0, 0, step.value);
  }
}

export async function withLock<T>(root: string, name: string, fn: () => Promise<T>, timeoutMs?: number): Promise<T> {
  const lock = await acquireLock(root, name, timeoutMs);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

/** Whether a live process holds the lock `name` under `<root>/.locks` right now. */
export function lockHeldByLiveProcess(root: string, name: string): boolean {
  const content = readFileIfExists(path.join(root, '.locks', `${name}.lock`));
  return content !== undefined && !holderIsDead(content);
}

/** Remove lock files whose holders are dead; returns how many. */
export function pruneStaleLocks(root: string): number {
  const dir = path.join(root, '.locks');
  let removed = 0;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    const file = path.join(dir, name);
    // a lock being taken, or broken, by a process that died before it finished
    if ((isTempName(name) || name.endsWith('.lock.break')) && holderIsDead(readFileIfExists(file))) {
      fs.rmSync(file, { force: true });
      removed++;
      continue;
    }
    // set aside by a breaker of an older version
    if (name.includes('.stale.')) {
      fs.rmSync(file, { force: true });
      removed++;
      continue;
    }
    if (name.endsWith('.lock') && holderIsDead(readFileIfExists(file)) && breakStaleLock(file)) removed++;
  }
  return removed;
}
