import { describe, expect, it } from 'vitest';
import { ITEM_STATES, newItem, type Item, type ItemState } from '../waves/state.js';
import {
  ITEM_EVENT_TYPES,
  STATUS_OF,
  TRANSITIONS,
  transition,
  type AttemptResult,
  type ItemEvent,
  type ItemEventType,
  type MachineContext,
} from './machine.js';

const AT = '2026-11-28T12:00:00.000Z';
const RESULT: AttemptResult = {
  at: AT,
  result: 'exited_ok',
  reasonCode: 'x',
  durationSec: 1,
  tokensInput: 1,
  tokensOutput: 1,
};

const ctx = (over: Partial<MachineContext> = {}): MachineContext => ({
  maxRevisions: 1,
  review: true,
  provider: (_phase, failures) => ['p1', 'p2'][failures],
  ...over,
});

function itemIn(state: ItemState, fields: Partial<Item> = {}): Item {
  const running = state === 'IMPLEMENTING' || state === 'REVIEWING';
  const phase = state === 'REVIEW_QUEUED' || state === 'REVIEWING' ? 'review' : 'implement';
  return {
    ...newItem('bd-1'),
    state,
    status: STATUS_OF[state],
    phase,
    ...(running ? { attempt: 1, provider: 'p1', job_beads: phase === 'review' ? 'bd-1-review' : 'bd-1' } : {}),
    ...fields,
  };
}

const SAMPLE: Record<ItemEventType, ItemEvent> = {
  dispatch: { type: 'dispatch', provider: 'p1', host: 'local', worktree: '/w', at: AT },
  job_started: { type: 'job_started', runInstance: 'r1', at: AT },
  job_deferred: { type: 'job_deferred', reasonCode: 'provider_concurrency_cap_exceeded', detail: 'cap', at: AT },
  job_missing: { type: 'job_missing', detail: 'gone', at: AT },
  implement_reported: {
    type: 'implement_reported',
    status: 'completed',
    summary: 's',
    contract: '{}',
    head: null,
    result: RESULT,
  },
  review_reported: { type: 'review_reported', verdict: 'APPROVED', summary: 's', findings: [], result: RESULT },
  attempt_failed: { type: 'attempt_failed', error: 'e', stopJob: false, result: { ...RESULT, result: 'exited_err' } },
  chain_exhausted: { type: 'chain_exhausted', at: AT },
  unworkable: { type: 'unworkable', reasonCode: 'worktree_missing', detail: 'none', at: AT },
  provider_skipped: { type: 'provider_skipped', reasonCode: 'no_host_for_review', detail: 'p1 runs nowhere', at: AT },
  host_unreachable: { type: 'host_unreachable', detail: 'host b: Connection refused', at: AT },
  host_lost: { type: 'host_lost', detail: 'host b silent since then', at: AT },
  cancel: { type: 'cancel', at: AT },
};

describe('the item transition table', () => {
  it.each(ITEM_STATES.flatMap((s) => ITEM_EVENT_TYPES.map((e) => [s, e] as const)))(
    '%s × %s: a next state the table allows, or an explicit refusal',
    (state, event) => {
      const row = TRANSITIONS[state][event];
      const result = transition(itemIn(state), SAMPLE[event], ctx());
      if (!row) {
        expect(result).toEqual({ refused: `${event} does not apply to an item that is ${state}` });
        return;
      }
      expect('item' in result, JSON.stringify(result)).toBe(true);
      if (!('item' in result)) return;
      expect(row.to).toContain(result.item.state);
      expect(result.item.status).toBe(STATUS_OF[result.item.state]);
      // every transition is written to the ledger first
      expect(result.effects[0]).toMatchObject({ type: 'ledger', detail: { from: state, to: result.item.state } });
    },
  );

  it('terminal states accept nothing', () => {
    for (const s of ['APPROVED', 'BLOCKED', 'CANCELLED'] as const) expect(Object.keys(TRANSITIONS[s])).toEqual([]);
  });
});

describe('the paths an item takes', () => {
  it('pending → implementing → review queued → reviewing → approved, attempts numbered by the history', () => {
    let item = itemIn('PENDING');
    const step = (e: ItemEvent) => {
      const r = transition(item, e, ctx());
      if (!('item' in r)) throw new Error(r.refused);
      item = r.item;
      return r.effects.map((x) => x.type);
    };
    expect(step(SAMPLE.dispatch)).toEqual(['ledger', 'acquire_attempt_lease', 'start_job']);
    expect(item).toMatchObject({
      state: 'IMPLEMENTING',
      status: 'IMPLEMENTING',
      attempt: 1,
      job_beads: 'bd-1',
      provider: 'p1',
    });
    step(SAMPLE.job_started);
    expect(step(SAMPLE.implement_reported)).toEqual(['ledger', 'release_attempt_lease']);
    expect(item).toMatchObject({
      state: 'REVIEW_QUEUED',
      status: 'REVIEWING',
      job_beads: null,
      implement_summary: '{}',
    });
    step(SAMPLE.dispatch);
    expect(item).toMatchObject({ state: 'REVIEWING', attempt: 2, job_beads: 'bd-1-review' });
    expect(step(SAMPLE.review_reported)).toEqual(['ledger', 'release_attempt_lease', 'release_item_lease']);
    expect(item).toMatchObject({ state: 'APPROVED', reason_code: 'approved', job_beads: null });
    expect(item.attempts.map((a) => [a.attempt, a.phase])).toEqual([
      [1, 'implement'],
      [2, 'review'],
    ]);
  });

  it('a deferred start gives the slot back without using up an attempt number', () => {
    const running = transition(itemIn('PENDING'), SAMPLE.dispatch, ctx());
    if (!('item' in running)) throw new Error(running.refused);
    const deferred = transition(running.item, SAMPLE.job_deferred, ctx());
    if (!('item' in deferred)) throw new Error(deferred.refused);
    expect(deferred.item).toMatchObject({ state: 'IMPLEMENT_QUEUED', job_beads: null });
    expect(deferred.effects.map((e) => e.type)).toEqual(['ledger', 'release_attempt_lease']);
    const again = transition(deferred.item, SAMPLE.dispatch, ctx());
    if (!('item' in again)) throw new Error(again.refused);
    expect(again.item.attempt).toBe(1);
  });

  it('a failed attempt moves along the chain, then blocks; a stalled one is stopped first', () => {
    const failed = transition(itemIn('IMPLEMENTING'), { ...SAMPLE.attempt_failed, stopJob: true } as ItemEvent, ctx());
    if (!('item' in failed)) throw new Error(failed.refused);
    expect(failed.item).toMatchObject({ state: 'IMPLEMENT_QUEUED', implement_failures: 1 });
    expect(failed.effects.map((e) => e.type)).toEqual(['ledger', 'stop_job', 'release_attempt_lease']);
    const wrongProvider = transition(failed.item, SAMPLE.dispatch, ctx());
    expect(wrongProvider).toEqual({ refused: expect.stringContaining('is p2, not p1') });
    const last = transition(
      itemIn('IMPLEMENTING', { implement_failures: 1, provider: 'p2' }),
      SAMPLE.attempt_failed,
      ctx(),
    );
    if (!('item' in last)) throw new Error(last.refused);
    expect(last.item).toMatchObject({ state: 'BLOCKED', reason_code: 'retry_chain_exhausted', implement_failures: 2 });
  });

  it('a review provider no host can give moves the chain on without an attempt, then blocks past its end', () => {
    const skipped = transition(itemIn('REVIEW_QUEUED'), SAMPLE.provider_skipped, ctx());
    if (!('item' in skipped)) throw new Error(skipped.refused);
    expect(skipped.item).toMatchObject({
      state: 'REVIEW_QUEUED',
      review_failures: 1,
      reason_code: 'no_host_for_review',
    });
    expect(skipped.item.attempts).toEqual([]);
    expect(skipped.effects).toEqual([
      {
        type: 'ledger',
        event: 'provider_skipped',
        detail: expect.objectContaining({ provider: 'p1', next_provider: 'p2', reason_code: 'no_host_for_review' }),
      },
    ]);
    const next = transition(skipped.item, { ...SAMPLE.dispatch, provider: 'p2' } as ItemEvent, ctx());
    if (!('item' in next)) throw new Error(next.refused);
    expect(next.item).toMatchObject({ state: 'REVIEWING', provider: 'p2', attempt: 1 });
    const last = transition(skipped.item, SAMPLE.provider_skipped, ctx());
    if (!('item' in last)) throw new Error(last.refused);
    expect(last.item).toMatchObject({ state: 'BLOCKED', reason_code: 'no_host_for_review', error: 'p1 runs nowhere' });
  });

  it('REVISION_REQUIRED goes back to implementing with the findings, then blocks past max revisions', () => {
    const verdict = {
      ...SAMPLE.review_reported,
      verdict: 'REVISION_REQUIRED',
      findings: ['[major] fix it'],
    } as ItemEvent;
    const first = transition(itemIn('REVIEWING'), verdict, ctx());
    if (!('item' in first)) throw new Error(first.refused);
    expect(first.item).toMatchObject({
      state: 'REVISION_REQUIRED',
      revisions: 1,
      review_findings: ['[major] fix it'],
      phase: 'implement',
    });
    const second = transition(itemIn('REVIEWING', { revisions: 1 }), verdict, ctx());
    if (!('item' in second)) throw new Error(second.refused);
    expect(second.item).toMatchObject({ state: 'BLOCKED', reason_code: 'revision_limit_reached', revisions: 2 });
  });

  it('without review, a completed implement is approved; a blocked report blocks', () => {
    const approved = transition(itemIn('IMPLEMENTING'), SAMPLE.implement_reported, ctx({ review: false }));
    if (!('item' in approved)) throw new Error(approved.refused);
    expect(approved.item).toMatchObject({ state: 'APPROVED', reason_code: 'approved_no_review' });
    const blocked = transition(
      itemIn('IMPLEMENTING'),
      { ...SAMPLE.implement_reported, status: 'blocked' } as ItemEvent,
      ctx(),
    );
    if (!('item' in blocked)) throw new Error(blocked.refused);
    expect(blocked.item).toMatchObject({ state: 'BLOCKED', reason_code: 'implement_reported_blocked' });
  });

  it('cancel stops a running job and releases its lease', () => {
    const r = transition(itemIn('REVIEWING'), SAMPLE.cancel, ctx());
    if (!('item' in r)) throw new Error(r.refused);
    expect(r.effects.map((e) => e.type)).toEqual(['ledger', 'stop_job', 'release_attempt_lease', 'release_item_lease']);
    expect(r.item).toMatchObject({ state: 'CANCELLED', status: 'CANCELLED', job_beads: null });
  });
});

describe('the README diagram', () => {
  it('is the one drawn from the transition table', async () => {
    const fs = await import('node:fs');
    const readme = fs.readFileSync(new URL('../../../../README.md', import.meta.url), 'utf8');
    const block =
      /<!-- item-state-diagram:start -->\n```mermaid\n([\s\S]*?)\n```\n<!-- item-state-diagram:end -->/.exec(
        readme,
      )?.[1];
    const { mermaidDiagram } = await import('./machine.js');
    expect(block, 'README.md has no item-state-diagram block').toBeDefined();
    expect(block).toBe(mermaidDiagram());
  });
});

describe('an attempt whose host stops answering', () => {
  it('waits with its lease, then is given up without counting as the provider’s failure and runs on another host', () => {
    let item = itemIn('PENDING');
    const step = (e: ItemEvent) => {
      const r = transition(item, e, ctx());
      if (!('item' in r)) throw new Error(r.refused);
      item = r.item;
      return r.effects.map((x) => x.type);
    };
    step({ ...SAMPLE.dispatch, host: 'b' } as ItemEvent);
    step(SAMPLE.job_started);
    // silent: nothing is released, nothing is stopped
    expect(step(SAMPLE.host_unreachable)).toEqual(['ledger']);
    expect(item).toMatchObject({ state: 'IMPLEMENTING', host: 'b', reason_code: 'host_unreachable', attempt: 1 });
    expect(step(SAMPLE.host_lost)).toEqual(['ledger', 'release_attempt_lease']);
    expect(item).toMatchObject({ state: 'IMPLEMENT_QUEUED', implement_failures: 0, job_beads: null });
    expect(item.attempts.map((a) => [a.attempt, a.host, a.result])).toEqual([[1, 'b', 'host_lost']]);
    step({ ...SAMPLE.dispatch, host: 'a' } as ItemEvent);
    expect(item).toMatchObject({ state: 'IMPLEMENTING', host: 'a', attempt: 2, provider: 'p1' });
  });
});
