import fs from 'node:fs';
import { KERNEL_START_TIMES, readProcessInfo } from './identity.js';

/** /proc counts CPU time in USER_HZ, which Linux fixes at 100 for every user-space reader. */
const TICKS_PER_SEC = 100;
/** More processes than any agent's tools run: a bound on the walk, not a limit on the agent. */
const MAX_PROCESSES = 4096;

let childrenListed: boolean | undefined;
/** Whether the kernel lists a process's children (`/proc/<pid>/task/<tid>/children`); asked once. */
function kernelListsChildren(): boolean {
  childrenListed ??= KERNEL_START_TIMES && fs.existsSync(`/proc/self/task/${process.pid}/children`);
  return childrenListed;
}

function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const children: number[] = [];
  for (const tid of tasks) {
    try {
      for (const word of fs.readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ')) {
        const child = Number(word);
        if (word !== '' && Number.isInteger(child)) children.push(child);
      }
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return children;
}

/**
 * Seconds of CPU the processes an agent started have used: its tools (a build, a test run, a
 * compiler), live or ended — not the agent CLI's own. A tool that works silently for a long time
 * keeps using CPU; a hung one, a server left in the foreground or a `sleep` does not. Undefined
 * where the kernel does not list children. A descendant that is orphaned leaves the count, so two
 * readings may go down: callers take the growth, never a fall.
 */
export function toolCpuSeconds(agentPid: number): number | undefined {
  if (!kernelListsChildren()) return undefined;
  const agent = readProcessInfo(agentPid);
  if (!agent) return undefined;
  let ticks = agent.reapedChildrenCpuTicks;
  const seen = new Set<number>([agentPid]);
  const pending = childrenOf(agentPid);
  while (pending.length > 0 && seen.size < MAX_PROCESSES) {
    const pid = pending.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    const info = readProcessInfo(pid);
    if (!info) continue;
    ticks += info.cpuTicks + info.reapedChildrenCpuTicks;
    pending.push(...childrenOf(pid));
  }
  return ticks / TICKS_PER_SEC;
}
