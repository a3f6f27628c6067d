import fs from 'node:fs';

/**
 * A process is identified by pid + kernel start time, so a recycled pid is never mistaken for one
 * of our jobs (anchor trap 17) and a zombie counts as dead (anchor trap 21).
 */
export interface ProcessInfo {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  startTicks: number;
}

const HAS_PROC = fs.existsSync('/proc/self/stat');

export function readProcessInfo(pid: number): ProcessInfo | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (!HAS_PROC) {
    try {
      process.kill(pid, 0);
      return { pid, state: 'S', ppid: 0, pgrp: 0, startTicks: 0 };
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM' ? { pid, state: 'S', ppid: 0, pgrp: 0, startTicks: 0 } : undefined;
    }
  }
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  return {
    pid,
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    startTicks: Number(fields[19]),
  };
}

export interface ProcessIdentity {
  pid: number;
  startTicks: number;
}

export function identify(pid: number): ProcessIdentity | undefined {
  const info = readProcessInfo(pid);
  return info ? { pid, startTicks: info.startTicks } : undefined;
}

/** True only if the very process we recorded is still running (not a zombie, not a recycled pid). */
export function isAlive(id: ProcessIdentity | undefined): boolean {
  if (!id) return false;
  const info = readProcessInfo(id.pid);
  if (!info) return false;
  if (info.state === 'Z' || info.state === 'X') return false;
  return !HAS_PROC || id.startTicks === 0 || info.startTicks === id.startTicks;
}

/** Pids of live processes whose process group is `pgid` (Linux only; empty elsewhere). */
export function groupMembers(pgid: number): number[] {
  if (!HAS_PROC) return [];
  const members: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const info = readProcessInfo(pid);
    if (info && info.pgrp === pgid && info.state !== 'Z' && info.state !== 'X') members.push(pid);
  }
  return members;
}
