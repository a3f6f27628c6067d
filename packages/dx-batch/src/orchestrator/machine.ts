/**
 * An item's lifecycle as a pure function over a transition table: (item, event) → the next item
 * and the effects to carry out (start or stop a job, release a lease, write the ledger). No I/O
 * happens here; the orchestrator turns dx-runner's answers into events and applies the effects in
 * one place. Every state × event pair is either a row of the table or an explicit refusal.
 */
import { ITEM_STATES, type Attempt, type Item, type ItemState, type ItemStatus } from '../waves/state.js';

export type Phase = 'implement' | 'review';

/** What dx-runner (or the wave) said about an item, as the machine's input. */
export type ItemEvent =
  /** A slot is free and the chain has a provider: ask dx-runner to run the next attempt. */
  | { type: 'dispatch'; provider: string; host: string; worktree: string; at: string }
  /** dx-runner acknowledged the launch. */
  | { type: 'job_started'; runInstance: string | null; at: string }
  /** dx-runner refused for a reason that is not the attempt's (provider cap, busy lock): try again later. */
  | { type: 'job_deferred'; reasonCode: string; detail: string; at: string }
  /** The attempt's job was requested but never came up (a crash between the ledger and dx-runner): start it again. */
  | { type: 'job_missing'; detail: string; at: string }
  /** An implement run ended with a valid contract saying completed, partial or blocked. */
  | {
      type: 'implement_reported';
      status: 'completed' | 'partial' | 'blocked';
      summary: string;
      contract: string;
      /** The worktree's commit when the job ended (null when unknown). */
      head: string | null;
      result: AttemptResult;
    }
  /** A review run ended with a valid verdict. */
  | {
      type: 'review_reported';
      verdict: 'APPROVED' | 'REVISION_REQUIRED' | 'BLOCKED';
      summary: string;
      findings: string[];
      result: AttemptResult;
    }
  /** The attempt failed: job error, stall, no-op, missing contract, reported failure, refused start. */
  | { type: 'attempt_failed'; error: string | null; stopJob: boolean; result: AttemptResult }
  /** The phase's chain has no provider left for the next attempt. */
  | { type: 'chain_exhausted'; at: string }
  /** The item cannot be worked at all (its worktree is missing or ambiguous). */
  | { type: 'unworkable'; reasonCode: string; detail: string; at: string }
  /** No host can ever run the chain's current provider for this item: the chain moves on without an attempt. */
  | { type: 'provider_skipped'; reasonCode: string; detail: string; at: string }
  /** The job's host stopped answering: the attempt waits (its lease kept) for the grace period. */
  | { type: 'host_unreachable'; detail: string; at: string }
  /** The host stayed silent past the grace period: the attempt is given up and queued for another host. */
  | { type: 'host_lost'; detail: string; at: string }
  | { type: 'cancel'; at: string };

export type ItemEventType = ItemEvent['type'];
export const ITEM_EVENT_TYPES: readonly ItemEventType[] = [
  'dispatch',
  'job_started',
  'job_deferred',
  'job_missing',
  'implement_reported',
  'review_reported',
  'attempt_failed',
  'chain_exhausted',
  'unworkable',
  'provider_skipped',
  'host_unreachable',
  'host_lost',
  'cancel',
];

/** How an attempt ended, as recorded in the item's history. */
export interface AttemptResult {
  at: string;
  result: string;
  reasonCode: string | null;
  verdict?: string | null;
  durationSec: number | null;
  tokensInput: number | null;
  tokensOutput: number | null;
}

export type Effect =
  | { type: 'ledger'; event: string; detail?: Record<string, unknown> }
  | { type: 'acquire_attempt_lease'; attempt: number }
  | { type: 'release_attempt_lease'; attempt: number }
  | { type: 'release_item_lease' }
  | { type: 'start_job' }
  | { type: 'stop_job'; jobBeads: string };

/** What the machine needs to know about the wave: its chains (as preflight left them) and limits. */
export interface MachineContext {
  maxRevisions: number;
  review: boolean;
  /** The provider of the phase's chain for the given number of failures, or undefined when exhausted. */
  provider(phase: Phase, failures: number): string | undefined;
}

export type Transition = { item: Item; effects: Effect[] } | { refused: string };

/** The status shown for each machine state (queued work shows as the phase it waits for). */
export const STATUS_OF: Record<ItemState, ItemStatus> = {
  PENDING: 'PENDING',
  IMPLEMENT_QUEUED: 'IMPLEMENTING',
  IMPLEMENTING: 'IMPLEMENTING',
  REVIEW_QUEUED: 'REVIEWING',
  REVIEWING: 'REVIEWING',
  REVISION_REQUIRED: 'REVISION_REQUIRED',
  APPROVED: 'APPROVED',
  BLOCKED: 'BLOCKED',
  CANCELLED: 'CANCELLED',
};

export const TERMINAL_STATES: readonly ItemState[] = ['APPROVED', 'BLOCKED', 'CANCELLED'];
const QUEUED: readonly ItemState[] = ['PENDING', 'IMPLEMENT_QUEUED', 'REVISION_REQUIRED', 'REVIEW_QUEUED'];
const RUNNING: readonly ItemState[] = ['IMPLEMENTING', 'REVIEWING'];

export const phaseOf = (state: ItemState): Phase =>
  state === 'REVIEW_QUEUED' || state === 'REVIEWING' ? 'review' : 'implement';

/** The job id of an attempt: reviews run under `<id>-review` so they never share files with the implement job. */
export const jobBeadsFor = (beadsId: string, phase: Phase): string =>
  phase === 'review' ? `${beadsId}-review` : beadsId;

function go(
  item: Item,
  to: ItemState,
  fields: Partial<Item>,
  effects: Effect[],
  event: string,
  detail: Record<string, unknown> = {},
): Transition {
  const next: Item = { ...item, ...fields, state: to, status: STATUS_OF[to] };
  const ledger: Effect = { type: 'ledger', event, detail: { from: item.state, to, ...detail } };
  if (TERMINAL_STATES.includes(to)) {
    next.job_beads = null;
    return { item: next, effects: [ledger, ...effects, { type: 'release_item_lease' }] };
  }
  return { item: next, effects: [ledger, ...effects] };
}

function recordOf(item: Item, r: AttemptResult): Attempt {
  return {
    attempt: item.attempt,
    phase: item.phase ?? 'implement',
    provider: item.provider ?? '?',
    host: item.host ?? 'local',
    job_beads: item.job_beads ?? '?',
    run_instance: item.run_instance,
    started_at: item.job_requested_at ?? r.at,
    completed_at: r.at,
    result: r.result,
    reason_code: r.reasonCode,
    verdict: r.verdict ?? null,
    duration_sec: r.durationSec,
    tokens_input: r.tokensInput,
    tokens_output: r.tokensOutput,
  };
}

/** The finished attempt leaves the running state: recorded in the history, its lease released. */
function finishAttempt(item: Item, r: AttemptResult): { attempts: Attempt[]; effects: Effect[] } {
  return {
    attempts: [...item.attempts, recordOf(item, r)],
    effects: [{ type: 'release_attempt_lease', attempt: item.attempt }],
  };
}

const dispatch: Handler<'dispatch'> = (item, e, ctx) => {
  const phase = phaseOf(item.state);
  const failures = phase === 'implement' ? item.implement_failures : item.review_failures;
  const provider = ctx.provider(phase, failures);
  if (provider !== e.provider)
    return {
      refused: `the ${phase} chain's provider after ${failures} failure(s) is ${provider ?? 'none'}, not ${e.provider}`,
    };
  // attempts are numbered by the jobs started for the item: the next one is one past the history
  const attempt = item.attempts.length + 1;
  const to: ItemState = phase === 'review' ? 'REVIEWING' : 'IMPLEMENTING';
  const jobBeads = jobBeadsFor(item.beads_id, phase);
  const fields: Partial<Item> = {
    attempt,
    phase,
    provider,
    host: e.host,
    job_beads: jobBeads,
    worktree: e.worktree,
    job_requested_at: e.at,
    run_instance: null,
    reason_code: null,
    error: null,
    started_at: item.started_at ?? e.at,
  };
  return go(item, to, fields, [{ type: 'acquire_attempt_lease', attempt }, { type: 'start_job' }], 'attempt_started', {
    attempt,
    phase,
    provider,
    host: e.host,
    job_beads: jobBeads,
  });
};

const chainExhausted: Handler<'chain_exhausted'> = (item) => {
  const phase = phaseOf(item.state);
  const failures = phase === 'implement' ? item.implement_failures : item.review_failures;
  const reason = phase === 'implement' ? 'retry_chain_exhausted' : 'review_chain_exhausted';
  return go(
    item,
    'BLOCKED',
    { reason_code: reason, error: `${failures} ${phase} attempt(s) failed; no provider left in the ${phase} chain` },
    [],
    'chain_exhausted',
    { phase },
  );
};

const jobStarted: Handler<'job_started'> = (item, e) =>
  go(item, item.state, { run_instance: e.runInstance }, [], 'job_started', {
    attempt: item.attempt,
    job_beads: item.job_beads,
    run_instance: e.runInstance,
    provider: item.provider,
  });

const jobDeferred: Handler<'job_deferred'> = (item, e) => {
  const to: ItemState = item.state === 'REVIEWING' ? 'REVIEW_QUEUED' : 'IMPLEMENT_QUEUED';
  return go(
    item,
    to,
    { job_beads: null, job_requested_at: null },
    [{ type: 'release_attempt_lease', attempt: item.attempt }],
    'attempt_deferred',
    { attempt: item.attempt, reason_code: e.reasonCode, detail: e.detail },
  );
};

const jobMissing: Handler<'job_missing'> = (item, e) =>
  go(item, item.state, { job_requested_at: e.at, run_instance: null }, [{ type: 'start_job' }], 'job_relaunched', {
    attempt: item.attempt,
    job_beads: item.job_beads,
    detail: e.detail,
  });

const implementReported: Handler<'implement_reported'> = (item, e, ctx) => {
  const done = finishAttempt(item, e.result);
  const detail = {
    attempt: item.attempt,
    phase: 'implement',
    provider: item.provider,
    reason_code: e.result.reasonCode,
  };
  if (e.status === 'blocked')
    return go(
      item,
      'BLOCKED',
      { attempts: done.attempts, reason_code: 'implement_reported_blocked', error: e.summary },
      done.effects,
      'implement_reported_blocked',
      detail,
    );
  if (!ctx.review)
    return go(
      item,
      'APPROVED',
      { attempts: done.attempts, implement_summary: e.contract, reason_code: 'approved_no_review', verdict: null },
      done.effects,
      'approved_no_review',
      detail,
    );
  return go(
    item,
    'REVIEW_QUEUED',
    {
      attempts: done.attempts,
      implement_summary: e.contract,
      implement_head: e.head,
      phase: 'review',
      job_beads: null,
      review_failures: 0,
    },
    done.effects,
    'implement_completed',
    detail,
  );
};

const reviewReported: Handler<'review_reported'> = (item, e, ctx) => {
  const done = finishAttempt(item, e.result);
  const detail = { attempt: item.attempt, phase: 'review', provider: item.provider, verdict: e.verdict };
  const base = { attempts: done.attempts, verdict: e.verdict };
  if (e.verdict === 'APPROVED')
    return go(item, 'APPROVED', { ...base, reason_code: 'approved' }, done.effects, 'review_approved', detail);
  if (e.verdict === 'BLOCKED')
    return go(
      item,
      'BLOCKED',
      { ...base, reason_code: 'review_blocked', error: e.summary, review_findings: e.findings },
      done.effects,
      'review_blocked',
      detail,
    );
  const revisions = item.revisions + 1;
  if (revisions > ctx.maxRevisions) {
    return go(
      item,
      'BLOCKED',
      { ...base, reason_code: 'revision_limit_reached', revisions, review_findings: e.findings, error: e.summary },
      done.effects,
      'revision_limit_reached',
      detail,
    );
  }
  return go(
    item,
    'REVISION_REQUIRED',
    {
      ...base,
      reason_code: 'revision_required',
      revisions,
      review_findings: e.findings,
      job_beads: null,
      phase: 'implement',
      implement_failures: 0,
    },
    done.effects,
    'revision_required',
    detail,
  );
};

/** A failed attempt: the phase's chain moves on to its next provider, or the item is blocked. */
const attemptFailed: Handler<'attempt_failed'> = (item, e, ctx) => {
  const phase = phaseOf(item.state);
  const done = finishAttempt(item, e.result);
  const stop: Effect[] = e.stopJob && item.job_beads ? [{ type: 'stop_job', jobBeads: item.job_beads }] : [];
  const failures = (phase === 'implement' ? item.implement_failures : item.review_failures) + 1;
  const counter = phase === 'implement' ? { implement_failures: failures } : { review_failures: failures };
  const reason = e.result.reasonCode;
  const detail = { attempt: item.attempt, phase, provider: item.provider, reason_code: reason };
  const next = ctx.provider(phase, failures);
  if (!next) {
    const blockedReason =
      phase === 'implement'
        ? 'retry_chain_exhausted'
        : reason === 'review_contract_missing_or_invalid'
          ? 'review_contract_missing_or_invalid'
          : 'review_chain_exhausted';
    return go(
      item,
      'BLOCKED',
      {
        ...counter,
        attempts: done.attempts,
        reason_code: blockedReason,
        error: `${reason ?? e.result.result}${e.error ? `: ${e.error}` : ''}`,
      },
      [...stop, ...done.effects],
      'attempt_failed',
      detail,
    );
  }
  const to: ItemState = phase === 'review' ? 'REVIEW_QUEUED' : 'IMPLEMENT_QUEUED';
  return go(
    item,
    to,
    { ...counter, attempts: done.attempts, job_beads: null, reason_code: reason, error: e.error },
    [...stop, ...done.effects],
    'retry_scheduled',
    { ...detail, next_provider: next },
  );
};

const hostUnreachable: Handler<'host_unreachable'> = (item, e) =>
  go(item, item.state, { reason_code: 'host_unreachable', error: e.detail }, [], 'host_unreachable', {
    attempt: item.attempt,
    host: item.host,
    job_beads: item.job_beads,
    detail: e.detail,
  });

/** Not the provider's failure: the failure counters stay, and the same provider runs it on another host. */
const hostLost: Handler<'host_lost'> = (item, e) => {
  const done = finishAttempt(item, {
    at: e.at,
    result: 'host_lost',
    reasonCode: 'host_lost',
    durationSec: null,
    tokensInput: null,
    tokensOutput: null,
  });
  const to: ItemState = item.state === 'REVIEWING' ? 'REVIEW_QUEUED' : 'IMPLEMENT_QUEUED';
  return go(
    item,
    to,
    { attempts: done.attempts, job_beads: null, reason_code: 'host_lost', error: e.detail },
    done.effects,
    'host_lost',
    { attempt: item.attempt, host: item.host, job_beads: item.job_beads, run_instance: item.run_instance },
  );
};

const unworkable: Handler<'unworkable'> = (item, e) =>
  go(item, 'BLOCKED', { reason_code: e.reasonCode, error: e.detail }, [], 'worktree_unresolved', {
    reason_code: e.reasonCode,
  });

/**
 * The chain's provider cannot run this review anywhere (its implement's host does not run it and no
 * other host has the commit): the next provider of the chain takes it, as after a failed attempt
 * but with no attempt recorded; past the chain's end the item is blocked for that reason.
 */
const providerSkipped: Handler<'provider_skipped'> = (item, e, ctx) => {
  const failures = item.review_failures + 1;
  const next = ctx.provider('review', failures);
  const detail = { phase: 'review', provider: ctx.provider('review', item.review_failures), reason_code: e.reasonCode };
  if (!next)
    return go(
      item,
      'BLOCKED',
      { review_failures: failures, reason_code: e.reasonCode, error: e.detail },
      [],
      'provider_skipped',
      { ...detail, detail: e.detail },
    );
  return go(
    item,
    'REVIEW_QUEUED',
    { review_failures: failures, reason_code: e.reasonCode, error: e.detail },
    [],
    'provider_skipped',
    { ...detail, detail: e.detail, next_provider: next },
  );
};

const cancel: Handler<'cancel'> = (item) => {
  const running = RUNNING.includes(item.state) && item.job_beads;
  const effects: Effect[] = running
    ? [
        { type: 'stop_job', jobBeads: item.job_beads! },
        { type: 'release_attempt_lease', attempt: item.attempt },
      ]
    : [];
  return go(item, 'CANCELLED', { reason_code: 'wave_cancelled' }, effects, 'wave_cancelled');
};

type Handler<T extends ItemEventType> = (
  item: Item,
  event: Extract<ItemEvent, { type: T }>,
  ctx: MachineContext,
) => Transition;
type Row = { [T in ItemEventType]?: { to: readonly ItemState[]; handler: Handler<T> } };

const queuedRow = (to: ItemState): Row => ({
  dispatch: { to: [to], handler: dispatch },
  chain_exhausted: { to: ['BLOCKED'], handler: chainExhausted },
  unworkable: { to: ['BLOCKED'], handler: unworkable },
  cancel: { to: ['CANCELLED'], handler: cancel },
});

const runningRow = (phase: Phase): Row => ({
  job_started: { to: [phase === 'review' ? 'REVIEWING' : 'IMPLEMENTING'], handler: jobStarted },
  job_deferred: { to: [phase === 'review' ? 'REVIEW_QUEUED' : 'IMPLEMENT_QUEUED'], handler: jobDeferred },
  job_missing: { to: [phase === 'review' ? 'REVIEWING' : 'IMPLEMENTING'], handler: jobMissing },
  ...(phase === 'implement'
    ? { implement_reported: { to: ['REVIEW_QUEUED', 'APPROVED', 'BLOCKED'], handler: implementReported } }
    : { review_reported: { to: ['APPROVED', 'REVISION_REQUIRED', 'BLOCKED'], handler: reviewReported } }),
  attempt_failed: {
    to: phase === 'review' ? ['REVIEW_QUEUED', 'BLOCKED'] : ['IMPLEMENT_QUEUED', 'BLOCKED'],
    handler: attemptFailed,
  },
  host_unreachable: { to: [phase === 'review' ? 'REVIEWING' : 'IMPLEMENTING'], handler: hostUnreachable },
  host_lost: { to: [phase === 'review' ? 'REVIEW_QUEUED' : 'IMPLEMENT_QUEUED'], handler: hostLost },
  cancel: { to: ['CANCELLED'], handler: cancel },
});

/** The table: for each state, the events it accepts and the states each can lead to. */
export const TRANSITIONS: Record<ItemState, Row> = {
  PENDING: queuedRow('IMPLEMENTING'),
  IMPLEMENT_QUEUED: queuedRow('IMPLEMENTING'),
  REVISION_REQUIRED: queuedRow('IMPLEMENTING'),
  IMPLEMENTING: runningRow('implement'),
  REVIEW_QUEUED: {
    ...queuedRow('REVIEWING'),
    provider_skipped: { to: ['REVIEW_QUEUED', 'BLOCKED'], handler: providerSkipped },
  },
  REVIEWING: runningRow('review'),
  APPROVED: {},
  BLOCKED: {},
  CANCELLED: {},
};

/** The item after `event`, with the effects to carry out; or why the event does not apply in this state. */
export function transition(item: Item, event: ItemEvent, ctx: MachineContext): Transition {
  const row = TRANSITIONS[item.state][event.type] as
    { to: readonly ItemState[]; handler: Handler<ItemEventType> } | undefined;
  if (!row) return { refused: `${event.type} does not apply to an item that is ${item.state}` };
  const result = row.handler(item, event, ctx);
  if ('item' in result && !row.to.includes(result.item.state)) {
    // the table is the contract: a handler may only lead where its row says
    return { refused: `${event.type} from ${item.state} led to ${result.item.state}, which the table does not allow` };
  }
  return result;
}

export function isTerminalState(state: ItemState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function isQueued(item: Item): boolean {
  return QUEUED.includes(item.state);
}

export function isRunning(item: Item): boolean {
  return RUNNING.includes(item.state);
}

/** The state diagram, drawn from the table (README keeps a copy; a test keeps them equal). */
export function mermaidDiagram(): string {
  const lines = ['stateDiagram-v2', '    [*] --> PENDING'];
  for (const from of ITEM_STATES) {
    const edges = new Map<string, string[]>();
    for (const [event, row] of Object.entries(TRANSITIONS[from]) as Array<
      [ItemEventType, { to: readonly ItemState[] }]
    >) {
      for (const to of row.to) edges.set(to, [...(edges.get(to) ?? []), event]);
    }
    for (const [to, events] of edges) lines.push(`    ${from} --> ${to}: ${events.join(', ')}`);
  }
  for (const s of TERMINAL_STATES) lines.push(`    ${s} --> [*]`);
  return lines.join('\n');
}
