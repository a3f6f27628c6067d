import { describe, expect, it } from 'vitest';
import { extractImplementContract, extractReviewContract } from './extract.js';

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

describe('contract extraction', () => {
  it('reads the contract on the last line of plain text', () => {
    const r = extractImplementContract([`I changed a.ts.\n${line(implement())}`], 'bd-1');
    expect(r).toMatchObject({ ok: true, contract: { status: 'completed', artifacts: { files_changed: ['a.ts'] } } });
  });

  it('finds the line inside JSON-encoded log events (the model text is a JSON string there)', () => {
    const event = JSON.stringify({ type: 'result', result: `Done.\n${line(implement())}` });
    expect(extractImplementContract(['{"type":"init"}', event], 'bd-1').ok).toBe(true);
  });

  it('takes the last valid contract when the agent printed the example and then its own', () => {
    const example = line(implement({ beads_id: 'bd-1', status: '<completed>' }));
    const r = extractImplementContract([`${example}\n...\n${line(implement({ status: 'partial' }))}`], 'bd-1');
    expect(r).toMatchObject({ ok: true, contract: { status: 'partial' } });
  });

  it('refuses a missing line, a wrong item, and an invalid shape, saying which', () => {
    expect(extractImplementContract(['all done, trust me'], 'bd-1')).toEqual({
      ok: false,
      reason: 'no CONTRACT:JSON: line found',
    });
    expect(extractImplementContract([line(implement({ beads_id: 'bd-2' }))], 'bd-1')).toEqual({
      ok: false,
      reason: 'implement contract is for bd-2, not bd-1',
    });
    const bad = extractImplementContract([line(implement({ status: 'done' }))], 'bd-1');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toMatch(/^implement contract invalid: status:/);
    expect(extractImplementContract(['CONTRACT:JSON:{"phase":"implement", "beads_id": "bd-1"'], 'bd-1').ok).toBe(false);
  });

  it('requires findings unless a review approves', () => {
    const review = { phase: 'review', beads_id: 'bd-1', summary: 's', timestamp: 't' };
    expect(extractReviewContract([line({ ...review, verdict: 'APPROVED', findings: [] })], 'bd-1').ok).toBe(true);
    const r = extractReviewContract([line({ ...review, verdict: 'REVISION_REQUIRED', findings: [] })], 'bd-1');
    expect(!r.ok && r.reason).toMatch(/findings required/);
    expect(
      extractReviewContract(
        [line({ ...review, verdict: 'BLOCKED', findings: [{ type: 'critical', message: 'breaks the build' }] })],
        'bd-1',
      ).ok,
    ).toBe(true);
    // an implement contract is not a review
    expect(extractReviewContract([line(implement())], 'bd-1').ok).toBe(false);
  });
});
