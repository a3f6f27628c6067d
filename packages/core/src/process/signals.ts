import { setTimeout as sleep } from 'node:timers/promises';
import { groupMembers, readProcessInfo, type ProcessIdentity } from './identity.js';

export type SignalResult = 'sent' | 'gone' | 'foreign';

/**
 * Signal a job's whole process group, refusing when the group leader's pid now belongs to another
 * process. A pgid cannot be recycled while any member still uses it, so a missing leader with live
 * members is still our group.
 */
export function signalGroup(leader: ProcessIdentity, signal: NodeJS.Signals): SignalResult {
  const info = readProcessInfo(leader.pid);
  if (info && leader.startTicks !== 0 && info.startTicks !== leader.startTicks) return 'foreign';
  try {
    process.kill(-leader.pid, signal);
    return 'sent';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'gone';
    if (code === 'EPERM') return 'foreign';
    throw err;
  }
}

/** Signal one process, with the same identity check. */
export function signalProcess(target: ProcessIdentity, signal: NodeJS.Signals): SignalResult {
  const info = readProcessInfo(target.pid);
  if (!info || info.state === 'Z') return 'gone';
  if (target.startTicks !== 0 && info.startTicks !== target.startTicks) return 'foreign';
  try {
    process.kill(target.pid, signal);
    return 'sent';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return 'gone';
    if (code === 'EPERM') return 'foreign';
    throw err;
  }
}

export function groupIsEmpty(pgid: number): boolean {
  return groupMembers(pgid).length === 0;
}

/**
 * SIGTERM the group, give it `graceMs` to exit, then SIGKILL whatever is left. Bounded: returns
 * after at most graceMs + 2 s whatever happens.
 */
export async function terminateGroup(leader: ProcessIdentity, graceMs: number): Promise<'exited' | 'killed' | 'foreign'> {
  const first = signalGroup(leader, 'SIGTERM');
  if (first === 'foreign') return 'foreign';
  if (first === 'gone') return 'exited';
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (groupIsEmpty(leader.pid)) return 'exited';
    await sleep(50);
  }
  if (signalGroup(leader, 'SIGKILL') !== 'sent') return 'exited';
  const killDeadline = Date.now() + 2000;
  while (Date.now() < killDeadline && !groupIsEmpty(leader.pid)) await sleep(25);
  return 'killed';
}
