import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import {
  acquireLockFileSync,
  DxError,
  ExitCode,
  isAlive,
  readJsonFileIfExists,
  selfIdentity,
  writeFileExclusive,
} from '@dx/core';
import type { WavePaths } from '../waves/paths.js';

/** Who holds a wave: one orchestrator at a time, identified by pid + start time and a fencing token. */
export interface LockHolder {
  wave_id: string;
  pid: number;
  start_ticks: number;
  /** The boot its pid belongs to (absent in locks written before it was recorded). */
  boot_id?: string;
  host: string;
  token: number;
  /** Tells apart two contenders that moved the same stale lock aside and drew the same token. */
  nonce: string;
  acquired_at: string;
  renewed_at: string;
}

/** Raised when another orchestrator took the wave over: this one must not write anything more. */
export class FencedError extends DxError {
  constructor(waveId: string, mine: number, current: number | undefined) {
    super(
      `wave ${waveId} was taken over (lease token ${current ?? 'gone'} > mine ${mine}); this orchestrator stops without writing`,
      {
        exitCode: ExitCode.general,
        reasonCode: 'orchestrator_fenced',
        nextAction: 'check_which_orchestrator_owns_the_wave',
      },
    );
  }
}

/** The holder named in the lock file; renewed when the file was last touched, if later than it says. */
export function readHolder(file: string): LockHolder | undefined {
  const holder = readJsonFileIfExists<LockHolder>(file);
  if (!holder) return undefined;
  try {
    const touched = fs.statSync(file).mtimeMs;
    if (!(Date.parse(holder.renewed_at) >= touched)) holder.renewed_at = new Date(touched).toISOString();
  } catch {
    // moved aside since it was read: what it said stands
  }
  return holder;
}

/** A live holder renewed its lease within the TTL (pid + start time checked when on this host). */
export function holderIsLive(holder: LockHolder | undefined, ttlMinutes: number): boolean {
  if (!holder) return false;
  const fresh = Date.now() - Date.parse(holder.renewed_at) < ttlMinutes * 60_000;
  if (holder.host !== os.hostname()) return fresh;
  return fresh && isAlive({ pid: holder.pid, startTicks: holder.start_ticks, bootId: holder.boot_id });
}

/**
 * Whether a live orchestrator holds the wave whose lock file this is: a running wave nobody holds
 * was killed (or its machine restarted) and moves only when resumed.
 */
export function orchestratorOf(lockFile: string, ttlMinutes: number): 'live' | 'gone' {
  return holderIsLive(readHolder(lockFile), ttlMinutes) ? 'live' : 'gone';
}

/** Held for the few file operations of a takeover, a fenced write or a release. */
function mutexFile(paths: WavePaths): string {
  return `${paths.lock}.mutex`;
}

export class WaveLock {
  private released = false;

  private constructor(
    readonly paths: WavePaths,
    readonly token: number,
    private holder: LockHolder,
  ) {}

  /**
   * Take the wave. A live, fresh holder is refused (`wave_already_running`) unless `force` (cancel).
   * A dead or silent holder is moved aside atomically — two contenders cannot both take it — and
   * the new token is higher than every token seen, which fences the old holder out.
   */
  static acquire(paths: WavePaths, options: { ttlMinutes: number; minToken?: number; force?: boolean }): WaveLock {
    fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    // taking the wave (or over) never interleaves with the old holder's fenced write
    const mutex = acquireLockFileSync(mutexFile(paths));
    try {
      return WaveLock.take(paths, options);
    } finally {
      mutex.release();
    }
  }

  private static take(paths: WavePaths, options: { ttlMinutes: number; minToken?: number; force?: boolean }): WaveLock {
    const me = selfIdentity();
    let floor = options.minToken ?? 0;
    for (let tries = 0; tries < 10; tries++) {
      const now = new Date().toISOString();
      const holder: LockHolder = {
        wave_id: paths.waveId,
        pid: me.pid,
        start_ticks: me.startTicks,
        boot_id: me.bootId,
        host: os.hostname(),
        token: floor + 1,
        nonce: randomUUID(),
        acquired_at: now,
        renewed_at: now,
      };
      // whole from its first byte: status and other waves never read the holder empty
      if (writeFileExclusive(paths.lock, `${JSON.stringify(holder)}\n`))
        return new WaveLock(paths, holder.token, holder);
      const current = readHolder(paths.lock);
      floor = Math.max(floor, current?.token ?? 0);
      if (!options.force && holderIsLive(current, options.ttlMinutes)) {
        throw new DxError(
          `wave ${paths.waveId} is already being run by pid ${current!.pid} on ${current!.host} (since ${current!.acquired_at})`,
          {
            exitCode: ExitCode.general,
            reasonCode: 'wave_already_running',
            nextAction: 'wait_for_it_or_cancel_the_wave',
          },
        );
      }
      try {
        fs.renameSync(paths.lock, `${paths.lock}.stale.${process.pid}.${tries}`);
      } catch {
        // another contender moved it first; try again
      }
    }
    throw new DxError(`could not take the lease of wave ${paths.waveId}`, {
      exitCode: ExitCode.general,
      reasonCode: 'wave_lock_contended',
    });
  }

  /** Throws FencedError when the lock file no longer carries this orchestrator's token. */
  assertHeld(): void {
    const current = readHolder(this.paths.lock);
    if (this.released || current?.token !== this.token || current.nonce !== this.holder.nonce)
      throw new FencedError(this.paths.waveId, this.token, current?.token);
  }

  /**
   * Runs `write` (of the wave state, of a ledger record) only while this orchestrator holds the
   * wave, with no takeover between the check and the write: checking and then writing let a fenced
   * holder's last write land over the state a cancel had just written. Throws FencedError otherwise.
   */
  fenced<T>(write: () => T): T {
    const mutex = acquireLockFileSync(mutexFile(this.paths));
    try {
      this.assertHeld();
      return write();
    } finally {
      mutex.release();
    }
  }

  /**
   * Renewing touches the lock file and never rewrites it: a takeover (cancel, resume) may replace the
   * file between this holder's check and its write, and a rewrite would then put the fenced holder
   * back over the new one. A touch of the new holder's file only keeps it fresh.
   */
  renew(): void {
    this.assertHeld();
    const now = new Date();
    fs.utimesSync(this.paths.lock, now, now);
    this.holder = { ...this.holder, renewed_at: now.toISOString() };
  }

  release(): void {
    if (this.released) return;
    const mutex = acquireLockFileSync(mutexFile(this.paths));
    try {
      const current = readHolder(this.paths.lock);
      if (current?.token === this.token && current.nonce === this.holder.nonce)
        fs.rmSync(this.paths.lock, { force: true });
    } finally {
      mutex.release();
    }
    this.released = true;
    for (const f of fs.readdirSync(this.paths.dir))
      if (f.startsWith('orchestrator.lock.stale.')) fs.rmSync(`${this.paths.dir}/${f}`, { force: true });
  }
}
