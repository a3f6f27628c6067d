import { describe, expect, it } from 'vitest';
import type { AgentExit, FailureClassification } from '../../providers/contract.js';
import { decideOutcome, type DecisionInput } from './decide.js';

const exit = (exitCode: number | null, signal: string | null = null): AgentExit => ({
  exitCode,
  signal,
  events: [],
  stdoutTail: [],
  stderrTail: [],
});

const classified: FailureClassification = { reasonCode: 'opencode_rate_limited', failureClass: 'rate_limited' };

function base(): DecisionInput {
  return {
    exit: exit(0),
    mutations: 0,
    finalOk: undefined,
    writesRefused: 0,
    expectNoChanges: false,
    outputCapBytes: 1024,
    classify: () => classified,
  };
}

function decide(over: Partial<DecisionInput>) {
  const asked: AgentExit[] = [];
  const decision = decideOutcome({
    ...base(),
    classify: (e) => {
      asked.push(e);
      return classified;
    },
    ...over,
  });
  return { decision, classifierAsked: asked.length > 0 };
}

describe('the watcher outcome decision', () => {
  it('a clean exit whose worktree was removed under it is worktree_gone, neither success nor no_op', () => {
    for (const mutations of [0, 2])
      expect(decide({ mutations, lost: 'worktree_gone' }).decision).toEqual({
        state: 'failed',
        exitCode: 0,
        reasonCode: 'worktree_gone',
      });
    // a failed exit stays the provider's to classify
    expect(decide({ exit: exit(1), lost: 'worktree_gone' })).toMatchObject({
      decision: { reasonCode: 'opencode_rate_limited' },
      classifierAsked: true,
    });
  });

  it('exit 0 with changes is success; without changes it is no_op, never a silent success', () => {
    expect(decide({ mutations: 3 }).decision).toEqual({ state: 'success', exitCode: 0, reasonCode: 'process_exit' });
    expect(decide({ mutations: 0 }).decision).toEqual({
      state: 'no_op',
      exitCode: 0,
      reasonCode: 'exit_zero_no_mutations',
    });
    expect(decide({ writesRefused: 2 }).decision.reasonCode).toBe('writes_refused_no_mutations');
  });

  it('a read-only task that changed nothing succeeded; one that changed files is named as such', () => {
    expect(decide({ expectNoChanges: true }).decision).toEqual({
      state: 'success',
      exitCode: 0,
      reasonCode: 'read_only_ok',
    });
    expect(decide({ expectNoChanges: true, mutations: 2 }).decision).toEqual({
      state: 'success',
      exitCode: 0,
      reasonCode: 'read_only_changed',
    });
  });

  it('exit 0 after a final event that reported an error is a failure the provider classifies', () => {
    const { decision, classifierAsked } = decide({ finalOk: false, mutations: 5 });
    expect(classifierAsked).toBe(true);
    expect(decision).toMatchObject({ state: 'failed', exitCode: 0, reasonCode: 'opencode_rate_limited' });
  });

  it('a non-zero exit is failed with the provider reason; a signal death maps to 128+n', () => {
    expect(decide({ exit: exit(1), mutations: 5 }).decision).toMatchObject({
      state: 'failed',
      exitCode: 1,
      reasonCode: 'opencode_rate_limited',
      classification: classified,
    });
    expect(decide({ exit: exit(null, 'SIGKILL') }).decision.exitCode).toBe(137);
  });

  it('a signal the watcher did not send is named, unless the provider recognised a failure of its own', () => {
    const crashed = (): FailureClassification => ({
      reasonCode: 'opencode_process_exit_nonzero',
      failureClass: 'crashed',
    });
    const oom = decideOutcome({ ...base(), exit: exit(null, 'SIGKILL'), classify: crashed });
    expect(oom).toMatchObject({
      state: 'failed',
      exitCode: 137,
      reasonCode: 'agent_killed_by_signal',
      classification: {
        failureClass: 'crashed',
        summary: expect.stringContaining('ended by SIGKILL, which dx-runner did not send'),
        nextAction: 'find_what_ended_the_agent_then_restart',
      },
    });
    // a crash by exit code or by the program's own fault (SIGSEGV) stays the provider's; so does a
    // signal death it explains
    expect(decideOutcome({ ...base(), exit: exit(null, 'SIGSEGV'), classify: crashed }).reasonCode).toBe(
      'opencode_process_exit_nonzero',
    );
    expect(decideOutcome({ ...base(), exit: exit(1), classify: crashed }).reasonCode).toBe(
      'opencode_process_exit_nonzero',
    );
    expect(decide({ exit: exit(null, 'SIGTERM') }).decision.reasonCode).toBe('opencode_rate_limited');
  });

  it('an agent killed because it hung after a successful final result did its work', () => {
    const hung = { action: 'hung' as const, reason: 'hung_after_final', exitCode: 143 };
    expect(decide({ termination: hung, finalOk: true, mutations: 1, exit: exit(null, 'SIGTERM') }).decision).toEqual({
      state: 'success',
      exitCode: 0,
      reasonCode: 'completed_then_hung_after_final_result',
    });
    // without a successful final result, the kill is a failure
    expect(decide({ termination: hung, finalOk: undefined, exit: exit(null, 'SIGTERM') }).decision.state).toBe(
      'failed',
    );
  });

  it('a stop, restart, timeout or block the watcher chose is what the outcome says, whatever the exit', () => {
    const stop = decide({
      termination: { action: 'stop', reason: 'stopped_by_operator', exitCode: 143 },
      mutations: 4,
    });
    expect(stop.decision).toEqual({
      state: 'killed',
      exitCode: 143,
      reasonCode: 'stopped_by_operator',
      finalizedBy: 'stop',
    });
    expect(stop.classifierAsked).toBe(false);
    const timeout = decide({ termination: { action: 'timeout', reason: 'max_runtime_exceeded', exitCode: 124 } });
    expect(timeout.decision.state).toBe('timeout');
    const block = decide({
      termination: { action: 'block', reason: 'gate_blocked', exitCode: 22, state: 'blocked' },
    });
    expect(block.decision.state).toBe('blocked');
  });

  it('fail-fast on a fatal event is a classified failure even when the agent then exits 0', () => {
    const { decision } = decide({
      termination: { action: 'fatal', reason: 'auth', exitCode: 1 },
      mutations: 2,
      finalOk: true,
    });
    expect(decision).toMatchObject({ state: 'failed', finalizedBy: 'fail_fast', reasonCode: 'opencode_rate_limited' });
  });

  it('an output flood or a full disk is failed with its own class and a next action', () => {
    const flood = decide({ termination: { action: 'flood', reason: 'output_flood', exitCode: 1 } }).decision;
    expect(flood.classification).toMatchObject({ failureClass: 'output_flood' });
    expect(flood.classification?.summary).toMatch(/more than 1024 bytes/);
    expect(flood.classification?.nextAction).toBeTruthy();
    const disk = decide({
      termination: { action: 'disk_full', reason: 'disk_full', exitCode: 1 },
      logErrorCode: 'ENOSPC',
    }).decision;
    expect(disk).toMatchObject({ state: 'failed', classification: { failureClass: 'disk_full' } });
    expect(disk.classification?.summary).toMatch(/ENOSPC/);
  });
});
