import fs from 'node:fs';
import { KERNEL_START_TIMES, currentBootId, readProcessInfo, selfProcess, type ProcessIdentity } from './identity.js';
import { terminateProcess } from './signals.js';

/**
 * The variable every agent is started with, naming its job and run instance. A child that leaves
 * the agent's process group (`setsid`, a daemon's double fork) still inherits it: it is how such a
 * child is found once the agent is gone. dx-runner's own watchers are started without it, so a job
 * an agent starts is its own job, not the agent's leftover.
 */
export const JOB_MARK_ENV = 'DX_RUNNER_JOB';

/**
 * The mark of one run: a run instance alone is not unique on a host (jobs started in the same
 * second by one process — dx-batch starts its jobs in-process — share it), the beads id with it is.
 */
export function jobMark(beads: string, runInstance: string): string {
  return `${beads}/${runInstance}`;
}

/** The environment of a process: undefined when it is gone or not ours to read. */
function environOf(pid: number): Buffer | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
}

/**
 * Processes that escaped a run's process group: they carry the run's mark in their
 * environment and started no earlier than its agent did, in this boot. The agent's group itself
 * was ended before; this finds what left it.
 */
export function findEscapees(mark: string, agent: ProcessIdentity): ProcessIdentity[] {
  if (!KERNEL_START_TIMES || !agent.startTicks) return [];
  const marker = Buffer.from(`${JOB_MARK_ENV}=${mark}\0`);
  const self = selfProcess().pid;
  const bootId = currentBootId();
  const found: ProcessIdentity[] = [];
  for (const name of fs.readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 1 || pid === self) continue;
    const info = readProcessInfo(pid);
    if (!info || info.startTicks < agent.startTicks || info.state === 'Z' || info.state === 'X') continue;
    const environ = environOf(pid);
    if (!environ) continue;
    const at = environ.indexOf(marker);
    // the whole variable, not the tail of another one's value
    if (at === 0 || (at > 0 && environ[at - 1] === 0)) found.push({ pid, startTicks: info.startTicks, bootId });
  }
  return found;
}

/** End each escapee (SIGTERM, then SIGKILL after the grace), each proven by pid and start time. */
export async function endEscapees(escapees: ProcessIdentity[], graceMs: number): Promise<void> {
  await Promise.all(escapees.map((e) => terminateProcess(e, graceMs)));
}
