import fs from 'node:fs';

/**
 * A process is identified by pid + kernel start time (clock ticks since boot, /proc/<pid>/stat field
 * 22), so a recycled pid is never mistaken for one of our jobs and a zombie counts as dead.
 */
export interface ProcessInfo {
  pid: number;
  state: string;
  ppid: number;
  pgrp: number;
  session: number;
  startTicks: number;
  /** CPU the process itself has used (utime + stime), in clock ticks. */
  cpuTicks: number;
  /** CPU its children that ended and were reaped used (cutime + cstime), in clock ticks. */
  reapedChildrenCpuTicks: number;
}

/** Whether this system exposes kernel start times at all; without them no pid can be proven ours. */
export const KERNEL_START_TIMES = fs.existsSync('/proc/self/stat');

export function readProcessInfo(pid: number): ProcessInfo | undefined {
  if (!KERNEL_START_TIMES || !Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // the command name may contain spaces and parentheses: fields start after the last ')'
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const fields = text.slice(close + 2).split(' ');
  return {
    pid,
    state: fields[0] ?? '?',
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    session: Number(fields[3]),
    startTicks: Number(fields[19]),
    cpuTicks: Number(fields[11]) + Number(fields[12]),
    reapedChildrenCpuTicks: Number(fields[13]) + Number(fields[14]),
  };
}

export interface ProcessIdentity {
  pid: number;
  /** Kernel start time; 0 or undefined means "not recorded", which proves nothing. */
  startTicks: number | undefined;
  /**
   * The boot the pid was recorded in (records older than this field have none). Start times count
   * from boot, so after a reboot a recorded pid + start time can match a new process by chance: a
   * process of another boot is gone, whatever runs under its pid now.
   */
  bootId?: string;
}

let bootIdRead = false;
let bootIdNow: string | undefined;
/** This boot's id (Linux: /proc/sys/kernel/random/boot_id), or undefined where there is none. */
export function currentBootId(): string | undefined {
  if (!bootIdRead) {
    bootIdRead = true;
    try {
      bootIdNow = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
    } catch {
      bootIdNow = undefined;
    }
  }
  return bootIdNow;
}

/** Recorded in an earlier boot: nothing of it can run now, whatever has its pid and start time. */
export function fromAnotherBoot(target: ProcessIdentity): boolean {
  if (target.bootId === undefined) return false;
  const boot = currentBootId();
  return boot !== undefined && target.bootId !== boot;
}

/** The identity of a live process now; undefined when it does not exist or start times are unreadable. */
export function identify(pid: number): { pid: number; startTicks: number; bootId?: string } | undefined {
  const info = readProcessInfo(pid);
  return info ? { pid, startTicks: info.startTicks, bootId: currentBootId() } : undefined;
}

let selfInfo: ProcessInfo | undefined;
/** dx-runner's own process (pid and process group), which no record may ever make it signal. */
export function selfProcess(): { pid: number; pgrp: number } {
  selfInfo ??= readProcessInfo(process.pid);
  return { pid: process.pid, pgrp: selfInfo?.pgrp ?? process.pid };
}

/**
 * This process as the holder of a lock or the writer of a record: pid + kernel start time (0 when
 * start times are unreadable). Read once: neither changes while the process lives, and a wave takes
 * a lock at every transition.
 */
export function selfIdentity(): { pid: number; startTicks: number; bootId?: string } {
  selfInfo ??= readProcessInfo(process.pid);
  return { pid: process.pid, startTicks: selfInfo?.startTicks ?? 0, bootId: currentBootId() };
}

/**
 * What a record's pid + start time say about a process:
 * - `alive`: that very process runs (not a zombie);
 * - `dead`: no process has that pid and start time (exited, reaped, or the pid was recycled);
 * - `unproven`: the record cannot identify a process (pid not positive, start time missing or 0,
 *   or no kernel start times on this system).
 */
export type ProcessStatus = { status: 'alive' | 'dead'; info?: ProcessInfo } | { status: 'unproven'; detail: string };

export function processStatus(target: ProcessIdentity): ProcessStatus {
  const { pid, startTicks } = target;
  if (!Number.isInteger(pid) || pid <= 0) return { status: 'unproven', detail: `pid ${pid} is not a process id` };
  if (startTicks === undefined || !Number.isInteger(startTicks) || startTicks <= 0) {
    return { status: 'unproven', detail: `the record of pid ${pid} has no kernel start time` };
  }
  if (!KERNEL_START_TIMES)
    return { status: 'unproven', detail: 'kernel start times cannot be read on this system (no /proc)' };
  if (fromAnotherBoot(target)) return { status: 'dead' };
  const info = readProcessInfo(pid);
  if (!info || info.startTicks !== startTicks) return { status: 'dead' };
  if (info.state === 'Z' || info.state === 'X') return { status: 'dead', info };
  return { status: 'alive', info };
}

/** Why a pid may never be signalled whatever a record says: init, "every process", or dx-runner itself. */
export function signalRefusal(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 1) return `pid ${pid} cannot be a job process`;
  const self = selfProcess();
  if (pid === self.pid || pid === self.pgrp) return `pid ${pid} is dx-runner itself or its process group`;
  return undefined;
}

/** The status of a process a job record names: a pid that may never be signalled is unproven. */
export function jobProcessStatus(target: ProcessIdentity): ProcessStatus {
  const refusal = signalRefusal(target.pid);
  return refusal ? { status: 'unproven', detail: refusal } : processStatus(target);
}

/** True only if the very process we recorded is still running (not a zombie, not a recycled pid). */
export function isAlive(id: ProcessIdentity | undefined): boolean {
  return id !== undefined && processStatus(id).status === 'alive';
}

/** Live processes whose process group is `pgid` (Linux only; empty elsewhere). */
export function groupMembers(pgid: number): ProcessInfo[] {
  if (!KERNEL_START_TIMES) return [];
  const members: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const info = readProcessInfo(pid);
    if (info && info.pgrp === pgid && info.state !== 'Z' && info.state !== 'X') members.push(info);
  }
  return members;
}
