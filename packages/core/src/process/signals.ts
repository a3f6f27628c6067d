import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  fromAnotherBoot,
  groupMembers,
  identify,
  jobProcessStatus,
  processStatus,
  selfProcess,
  type ProcessIdentity,
  type ProcessInfo,
} from './identity.js';
import { deadlineIn } from './timers.js';

/**
 * - `sent`: the signal reached the recorded process (or its group);
 * - `gone`: the recorded process no longer exists, so there was nothing to signal;
 * - `refused`: the record cannot prove which process it names (reason `identity_unproven`): nothing
 *   was signalled, and the caller must not act as if the process were gone.
 */
export type SignalResult =
  { result: 'sent' | 'gone' } | { result: 'refused'; reason: 'identity_unproven'; detail: string };

function kill(pid: number, signal: NodeJS.Signals): 'sent' | 'gone' {
  try {
    process.kill(pid, signal);
    return 'sent';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EPERM') return 'gone';
    throw err;
  }
}

/**
 * Members of the recorded leader's group once the leader itself has exited: only processes of the
 * same session and group (our agents are started with setsid, so sid = pgid = leader pid) that
 * started after the recorded leader did, in the same boot (a reboot ended the whole group).
 */
function orphanedMembers(leader: { pid: number; startTicks: number; bootId?: string }): ProcessInfo[] {
  if (fromAnotherBoot(leader)) return [];
  const self = selfProcess();
  return groupMembers(leader.pid).filter(
    (m) => m.session === leader.pid && m.startTicks >= leader.startTicks && m.pid !== self.pid,
  );
}

/**
 * The one way anything in the toolkit signals a process (stop, restart, finalize, prune, watchdog,
 * the watcher, dx-batch cancel, the shims): it refuses unless the pid is an integer > 1, is neither
 * dx-runner nor its process group, and the recorded kernel start time is present and equal to the
 * kernel's. `group` signals the whole process group the recorded process leads.
 */
export function sendSignal(
  target: ProcessIdentity,
  signal: NodeJS.Signals,
  scope: 'process' | 'group' = 'process',
): SignalResult {
  const status = jobProcessStatus(target);
  if (status.status === 'unproven') return { result: 'refused', reason: 'identity_unproven', detail: status.detail };
  const startTicks = target.startTicks!;
  if (scope === 'process') {
    if (status.status === 'dead') return { result: 'gone' };
    return { result: kill(target.pid, signal) };
  }
  // a zombie leader still proves its group (it has not been reaped, so the pgid cannot be reused)
  if (status.status === 'alive' || status.info) return { result: kill(-target.pid, signal) };
  let sent = false;
  for (const member of orphanedMembers({ pid: target.pid, startTicks, bootId: target.bootId }))
    if (kill(member.pid, signal) === 'sent') sent = true;
  return { result: sent ? 'sent' : 'gone' };
}

/** Live processes left in the recorded leader's group (the leader included while it runs). */
export function groupAlive(leader: ProcessIdentity): boolean {
  const status = jobProcessStatus(leader);
  if (status.status === 'unproven') return false;
  if (status.status === 'alive') return true;
  return orphanedMembers({ pid: leader.pid, startTicks: leader.startTicks!, bootId: leader.bootId }).length > 0;
}

/**
 * SIGTERM the group, give it `graceMs` to exit, then SIGKILL whatever is left. Bounded: returns
 * after at most graceMs + 2 s whatever happens.
 */
export async function terminateGroup(
  leader: ProcessIdentity,
  graceMs: number,
): Promise<'exited' | 'killed' | 'refused'> {
  const first = sendSignal(leader, 'SIGTERM', 'group');
  if (first.result === 'refused') return 'refused';
  if (first.result === 'gone') return 'exited';
  const deadline = deadlineIn(graceMs);
  while (!deadline.passed()) {
    if (!groupAlive(leader)) return 'exited';
    await sleep(50);
  }
  if (sendSignal(leader, 'SIGKILL', 'group').result !== 'sent') return 'exited';
  const killDeadline = deadlineIn(2000);
  while (!killDeadline.passed() && groupAlive(leader)) await sleep(25);
  return 'killed';
}

/** SIGTERM one process and wait (bounded) for it to exit; SIGKILL it if it does not. */
export async function terminateProcess(
  target: ProcessIdentity,
  graceMs: number,
): Promise<'exited' | 'killed' | 'refused'> {
  const first = sendSignal(target, 'SIGTERM');
  if (first.result === 'refused') return 'refused';
  if (first.result === 'gone') return 'exited';
  const deadline = deadlineIn(graceMs);
  while (!deadline.passed()) {
    if (processStatus(target).status !== 'alive') return 'exited';
    await sleep(25);
  }
  if (sendSignal(target, 'SIGKILL').result !== 'sent') return 'exited';
  const killDeadline = deadlineIn(2000);
  while (!killDeadline.passed() && processStatus(target).status === 'alive') await sleep(25);
  return 'killed';
}

/**
 * A way to signal a child this process spawned, through sendSignal like every other signal: its
 * identity is taken when it starts, so once it has exited (and its pid may be reused) only what
 * is left of its own group can still be reached.
 */
export function signalsForChild(
  child: ChildProcess,
): (signal: NodeJS.Signals, scope?: 'process' | 'group') => SignalResult | undefined {
  let id: ProcessIdentity | undefined;
  const take = () => {
    if (child.pid !== undefined) id = { pid: child.pid, startTicks: identify(child.pid)?.startTicks };
  };
  if (child.pid !== undefined) take();
  else child.once('spawn', take);
  return (signal, scope = 'process') => (id ? sendSignal(id, signal, scope) : undefined);
}
