import { describe, expect, it } from 'vitest';
import type { BeadsIssue } from '@dx/core';
import { claimPending, type Dispatching } from './interrupted.js';

const left: Dispatching = {
  run_id: '20261201T035000Z',
  beads_id: 'bd-1',
  host: 'local',
  claimed_at: '2026-12-01T03:50:00.700Z',
  claim_pending: true,
  assignee: null,
  beads_dir: null,
  prompt_file: null,
};
const claimed = (updated_at: string): BeadsIssue => ({
  id: 'bd-1',
  title: 't',
  status: 'in_progress',
  assignee: 'nightly',
  updated_at,
});

describe('a run killed while bd was claiming', () => {
  it("a claim bd dated to the second, within the second the run began, is the run's", () => {
    // bd took it at 03:50:00.750 and kept 03:50:00
    expect(claimPending(left, claimed('2026-12-01T03:50:00Z'))).toBeUndefined();
    expect(claimPending(left, claimed('2026-12-01T03:50:01.200Z'))).toBeUndefined();
  });

  it('a bd that keeps milliseconds is read to the millisecond: a claim just before the run began is not its', () => {
    // a person claimed it 200 ms before the run tried
    expect(claimPending(left, claimed('2026-12-01T03:50:00.500Z'))).toMatchObject({ outcome: 'claim_moved_on' });
    expect(claimPending(left, claimed('2026-12-01T03:50:00.700Z'))).toBeUndefined();
  });

  it("a claim from before that second is someone else's; an item not in progress was never claimed", () => {
    expect(claimPending(left, claimed('2026-12-01T03:49:59Z'))).toMatchObject({ outcome: 'claim_moved_on' });
    expect(claimPending(left, { ...claimed('2026-12-01T03:50:00Z'), status: 'open' })).toMatchObject({
      outcome: 'never_claimed',
    });
    expect(claimPending(left, claimed('not a time'))).toMatchObject({ outcome: 'claim_kept' });
  });
});
