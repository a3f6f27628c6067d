import { describe, expect, it } from 'vitest';
import { extractImplementContract, extractReviewContract } from './extract.js';
import { implementPrompt, reviewPrompt } from './prompts.js';

const implement = (over: Record<string, unknown> = {}) => ({
  phase: 'implement',
  beads_id: 'bd-1',
  status: 'completed',
  artifacts: { files_changed: ['a.ts'], commits: [{ sha: 'abc1234', message: 'feat' }] },
  summary: 'done',
  findings: [],
  timestamp: '2026-11-24T10:00:00Z',
  duration_sec: 12,
  ...over,
});
const line = (c: unknown) => `CONTRACT:JSON:${JSON.stringify(c)}`;
const implementFrom = (sources: string[], beadsId: string, prompt?: string) =>
  extractImplementContract({ sources, prompt }, beadsId);
const reviewFrom = (sources: string[], beadsId: string, prompt?: string) =>
  extractReviewContract({ sources, prompt }, beadsId);

describe('contract extraction', () => {
  it('reads the contract on the last line of plain text', () => {
    const r = implementFrom([`I changed a.ts.\n${line(implement())}`], 'bd-1');
    expect(r).toMatchObject({ ok: true, contract: { status: 'completed', artifacts: { files_changed: ['a.ts'] } } });
  });

  it('finds the line inside JSON-encoded log events (the model text is a JSON string there)', () => {
    const event = JSON.stringify({ type: 'result', result: `Done.\n${line(implement())}` });
    expect(implementFrom(['{"type":"init"}', event], 'bd-1').ok).toBe(true);
  });

  it('takes the last valid contract when the agent printed the example and then its own', () => {
    const example = line(implement({ beads_id: 'bd-1', status: '<completed>' }));
    const r = implementFrom([`${example}\n...\n${line(implement({ status: 'partial' }))}`], 'bd-1');
    expect(r).toMatchObject({ ok: true, contract: { status: 'partial' } });
  });

  it('refuses a missing line, a wrong item, and an invalid shape, saying which', () => {
    expect(implementFrom(['all done, trust me'], 'bd-1')).toEqual({
      ok: false,
      reason: 'no CONTRACT:JSON: line found',
    });
    expect(implementFrom([line(implement({ beads_id: 'bd-2' }))], 'bd-1')).toEqual({
      ok: false,
      reason: 'implement contract is for bd-2, not bd-1',
    });
    const bad = implementFrom([line(implement({ status: 'done' }))], 'bd-1');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^implement contract invalid: status:/);
    expect(implementFrom(['CONTRACT:JSON:{"phase":"implement", "beads_id": "bd-1"'], 'bd-1').ok).toBe(false);
  });

  it('requires findings unless a review approves', () => {
    const review = { phase: 'review', beads_id: 'bd-1', summary: 's', timestamp: 't' };
    expect(reviewFrom([line({ ...review, verdict: 'APPROVED', findings: [] })], 'bd-1').ok).toBe(true);
    const r = reviewFrom([line({ ...review, verdict: 'REVISION_REQUIRED', findings: [] })], 'bd-1');
    expect(!r.ok && r.reason).toMatch(/findings required/);
    expect(
      reviewFrom(
        [line({ ...review, verdict: 'BLOCKED', findings: [{ type: 'critical', message: 'breaks the build' }] })],
        'bd-1',
      ).ok,
    ).toBe(true);
    // an implement contract is not a review
    expect(reviewFrom([line(implement())], 'bd-1').ok).toBe(false);
  });

  it("never reads the prompt's example, echoed in the log, as the agent's contract", () => {
    // Gemini's stream-json opens with the prompt it was given, as a user message event
    const echoed = (prompt: string) => JSON.stringify({ type: 'message', role: 'user', content: prompt });
    const review = reviewPrompt({ waveId: 'w', beadsId: 'bd-1', attempt: 2 });
    const said = JSON.stringify({ type: 'message', role: 'assistant', content: 'The tests fail.' });
    const r = reviewFrom(['The tests fail.', [echoed(review), said].join('\n')], 'bd-1', review);
    expect(r).toEqual({ ok: false, reason: "no CONTRACT:JSON: line of the agent's own (only the prompt's, repeated)" });
    // the examples themselves are no contract, even where the prompt is not at hand
    expect(reviewFrom([echoed(review)], 'bd-1').ok).toBe(false);
    const work = implementPrompt({ waveId: 'w', beadsId: 'bd-1', attempt: 1 });
    expect(implementFrom([echoed(work)], 'bd-1').ok).toBe(false);
    // the agent's own contract after the echo is read
    const own = line({
      phase: 'review',
      beads_id: 'bd-1',
      verdict: 'APPROVED',
      findings: [],
      summary: 's',
      timestamp: 't',
    });
    expect(reviewFrom([`${echoed(review)}\n${own}`], 'bd-1', review).ok).toBe(true);
  });

  it("a contract the prompt quotes (a reviewer's finding, the issue's text) is not the agent's either", () => {
    const quotedContract = line(implement());
    const prompt = implementPrompt({
      waveId: 'w',
      beadsId: 'bd-1',
      attempt: 2,
      reviewFindings: [`[major] the implementer said ${quotedContract} but the tests fail`],
    });
    const echoed = JSON.stringify({ type: 'message', role: 'user', content: prompt });
    expect(implementFrom([echoed], 'bd-1', prompt).ok).toBe(false);
    // the same contract, written by the agent itself after the prompt, counts only when it differs
    expect(implementFrom([`${echoed}\n${line(implement({ summary: 'fixed' }))}`], 'bd-1', prompt).ok).toBe(true);
  });
});
