import fs from 'node:fs';
import path from 'node:path';
import {
  acquireLockFileSync,
  DxError,
  ExitCode,
  isTempName,
  readJsonFileIfExists,
  writeFileAtomic,
  writeFileExclusive,
} from '@dx/core';
import { wavePaths, type WavePaths } from '../waves/paths.js';
import { FencedError, holderIsLive, readHolder } from './wave-lock.js';

interface LeaseRecord {
  wave_id: string;
  beads_id: string;
  attempt?: number;
  token: number;
  pid: number;
  acquired_at: string;
}

function read(file: string): LeaseRecord | undefined {
  return readJsonFileIfExists<LeaseRecord>(file);
}

/** A new lease, whole from its first byte: a contender never reads it empty and takes it over. */
function create(file: string, record: LeaseRecord): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return writeFileExclusive(file, `${JSON.stringify(record)}\n`, 0o600, { durable: false });
}

export function attemptLeaseFile(paths: WavePaths, beads: string, attempt: number): string {
  return path.join(paths.leases, `${beads}+attempt${attempt}.lock`);
}

/**
 * The lease of one attempt of one item (`<beads>+attempt<n>.lock`), stamped with the wave's fencing
 * token: a lease left by an older (dead or fenced) orchestrator is taken over; one stamped with a
 * newer token means this orchestrator has been fenced.
 */
export function acquireAttemptLease(paths: WavePaths, beads: string, attempt: number, token: number): void {
  const file = attemptLeaseFile(paths, beads, attempt);
  const record: LeaseRecord = {
    wave_id: paths.waveId,
    beads_id: beads,
    attempt,
    token,
    pid: process.pid,
    acquired_at: new Date().toISOString(),
  };
  if (create(file, record)) return;
  const existing = read(file);
  if (existing && existing.token > token) throw new FencedError(paths.waveId, token, existing.token);
  writeFileAtomic(file, `${JSON.stringify(record)}\n`);
}

export function releaseAttemptLease(paths: WavePaths, beads: string, attempt: number, token: number): void {
  const file = attemptLeaseFile(paths, beads, attempt);
  const existing = read(file);
  if (!existing || existing.token <= token) fs.rmSync(file, { force: true });
}

function leaseNames(paths: WavePaths): string[] {
  try {
    return fs.readdirSync(paths.leases);
  } catch {
    return [];
  }
}

/** Attempt leases of this wave held under an older token (their orchestrator is gone). */
export function staleAttemptLeases(paths: WavePaths, token: number): string[] {
  return leaseNames(paths).filter((n) => (read(path.join(paths.leases, n))?.token ?? -1) < token);
}

/**
 * An orchestrator killed while writing a lease leaves the write's temporary file beside it: no lease,
 * and nobody else would ever remove it. The orchestrator that takes the wave over removes those of
 * older tokens (a write under an older token can no longer count).
 */
export function removeAbandonedLeaseWrites(paths: WavePaths, token: number): void {
  for (const name of leaseNames(paths)) {
    const file = path.join(paths.leases, name);
    if (isTempName(name) && (read(file)?.token ?? -1) < token) fs.rmSync(file, { force: true });
  }
}

/**
 * Items are also leased across waves (`leases/items/<beads>.lock`): a second wave that wants an item
 * a live orchestrator is working on is refused; one whose orchestrator is gone is taken over — by
 * one wave at a time (`<beads>.lock.takeover`), which reads the lease again before it writes, so two
 * waves starting together never both take a dead wave's item.
 */
export function acquireItemLease(paths: WavePaths, beads: string, token: number, ttlMinutes: number): void {
  const file = path.join(paths.itemLeases, `${beads}.lock`);
  const record: LeaseRecord = {
    wave_id: paths.waveId,
    beads_id: beads,
    token,
    pid: process.pid,
    acquired_at: new Date().toISOString(),
  };
  for (let tries = 0; ; tries++) {
    if (create(file, record)) return;
    const takeover = acquireLockFileSync(`${file}.takeover`);
    try {
      // released since create() found it: create it afresh (bounded: a busy item ends up refused or taken)
      if (!fs.existsSync(file) && tries < 3) continue;
      const existing = read(file);
      if (existing && existing.wave_id !== paths.waveId) {
        const other = readHolder(wavePaths(paths.root, existing.wave_id).lock);
        if (holderIsLive(other, ttlMinutes)) {
          throw new DxError(`item ${beads} is being worked on by wave ${existing.wave_id} (pid ${other!.pid})`, {
            exitCode: ExitCode.general,
            reasonCode: 'item_leased_by_other_wave',
            nextAction: 'wait_for_the_other_wave_or_cancel_it',
          });
        }
      }
      writeFileAtomic(file, `${JSON.stringify(record)}\n`);
      return;
    } finally {
      takeover.release();
    }
  }
}

export function releaseItemLease(paths: WavePaths, beads: string): void {
  const file = path.join(paths.itemLeases, `${beads}.lock`);
  if (read(file)?.wave_id === paths.waveId) fs.rmSync(file, { force: true });
}
