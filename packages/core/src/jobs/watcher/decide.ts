import os from 'node:os';
import { nextActionFor } from '../../health/next-actions.js';
import type { AgentExit, FailureClassification } from '../../providers/contract.js';
import { outcomeStateForExit, type OutcomeState } from '../outcome-state.js';
import type { WorktreeLoss } from './mutations.js';

/** Why the watcher ended the agent itself, when it did. */
export interface Termination {
  action:
    | 'stop'
    | 'finalize'
    | 'restart'
    | 'block'
    | 'timeout'
    | 'hung'
    | 'signal'
    | 'fatal'
    | 'flood'
    | 'disk_full'
    | 'worktree_gone'
    | 'worktree_unreadable'
    | 'records_gone';
  reason: string;
  exitCode: number;
  state?: OutcomeState;
}

/** The outcome of a run: the state, exit code and reason the outcome record carries. */
export interface Decision {
  state: OutcomeState;
  exitCode: number;
  reasonCode: string;
  classification?: FailureClassification;
  finalizedBy?: string;
}

/** Everything the watcher knows when the agent has exited. */
export interface DecisionInput {
  exit: AgentExit;
  termination?: Termination;
  /** Files the agent changed in the worktree. */
  mutations: number;
  /**
   * The worktree or its repository was gone when the agent had exited, or git did not answer in
   * time: what it changed cannot be known.
   */
  lost?: WorktreeLoss | 'git_status_timed_out';
  /** What the agent's final event said: success, failure, or nothing seen. */
  finalOk: boolean | undefined;
  /** Writes the agent tried and its CLI refused (permission mode). */
  writesRefused: number;
  /** A read-only task (a review): exiting without changes is success. */
  expectNoChanges: boolean;
  outputCapBytes: number;
  logErrorCode?: string;
  /** The provider's reading of a failed exit. */
  classify: (exit: AgentExit) => FailureClassification;
}

/** The number of a signal by name (0 when none), for the 128+n exit code of a signal death. */
export function signalNumber(signal: string | null): number {
  if (!signal) return 0;
  return (os.constants.signals as Record<string, number>)[signal] ?? 0;
}

const SENT_FROM_OUTSIDE = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGHUP']);

/**
 * An agent ended by a signal the watcher did not send (the kernel's out-of-memory killer, another
 * user, a shutdown) is named as such, unless the provider recognised a failure of its own in the
 * output: a bare "crashed" would hide that something outside the job ended it.
 */
function signalDeath(signal: string | null, classified: FailureClassification): FailureClassification {
  // SIGSEGV, SIGABRT and the like are the program's own crash: the provider's to name
  if (!signal || !SENT_FROM_OUTSIDE.has(signal) || classified.failureClass !== 'crashed') return classified;
  const hint = signal === 'SIGKILL' ? " (the kernel's out-of-memory killer sends it: see `dmesg`)" : '';
  return {
    reasonCode: 'agent_killed_by_signal',
    failureClass: 'crashed',
    summary: `the agent was ended by ${signal}, which dx-runner did not send${hint}`,
    nextAction: 'find_what_ended_the_agent_then_restart',
  };
}

/**
 * The one decision of a run's outcome. A stop, restart, timeout or other termination the watcher
 * chose is what the outcome says; otherwise the exit and the final event decide, and a success
 * that changed nothing is `no_op` unless nothing was expected to change. A success whose worktree
 * (or its repository) was removed under it is neither (`worktree_gone`, `git_repository_gone`): its
 * work cannot be seen. Only a failed exit
 * asks the provider what kind of failure it was.
 */
export function decideOutcome(input: DecisionInput): Decision {
  const t = input.termination;
  if (t && (t.action === 'flood' || t.action === 'disk_full')) {
    const failureClass = t.action === 'flood' ? 'output_flood' : 'disk_full';
    const summary =
      t.action === 'flood'
        ? `the agent printed more than ${input.outputCapBytes} bytes (limits.max_output_mb) and was stopped`
        : `the job's log or records could not be written (${input.logErrorCode ?? 'write error'}); the agent was stopped`;
    return {
      state: 'failed',
      exitCode: t.exitCode,
      reasonCode: t.reason,
      classification: {
        reasonCode: t.reason,
        failureClass,
        summary,
        nextAction: nextActionFor(t.reason, failureClass),
      },
      finalizedBy: t.action,
    };
  }
  if (t && t.action !== 'hung' && t.action !== 'fatal') {
    return {
      state: t.state ?? outcomeStateForExit(t.exitCode),
      exitCode: t.exitCode,
      reasonCode: t.reason,
      finalizedBy: t.action,
    };
  }
  const rawExit = input.exit.exitCode ?? 128 + signalNumber(input.exit.signal);
  const hung = t?.action === 'hung';
  const ok = t?.action === 'fatal' ? false : hung ? input.finalOk === true : rawExit === 0 && input.finalOk !== false;
  if (ok && input.lost) return { state: 'failed', exitCode: hung ? 0 : rawExit, reasonCode: input.lost };
  if (ok) {
    // an agent that hung after a successful final result did its work: the kill is not its exit code
    const exitCode = hung ? 0 : rawExit;
    // a read-only task (a review) that changed files still answered, but what it changed is no
    // part of the reviewed work: said so, rather than the plain success of a task meant to write
    if (input.mutations > 0)
      return {
        state: 'success',
        exitCode,
        reasonCode: hung
          ? 'completed_then_hung_after_final_result'
          : input.expectNoChanges
            ? 'read_only_changed'
            : 'process_exit',
      };
    if (input.expectNoChanges) return { state: 'success', exitCode, reasonCode: 'read_only_ok' };
    return {
      state: 'no_op',
      exitCode,
      reasonCode: input.writesRefused > 0 ? 'writes_refused_no_mutations' : 'exit_zero_no_mutations',
    };
  }
  const classification = signalDeath(input.exit.signal, input.classify(input.exit));
  return {
    state: 'failed',
    exitCode: rawExit,
    reasonCode: classification.reasonCode,
    classification,
    finalizedBy: t?.action === 'fatal' ? 'fail_fast' : undefined,
  };
}
