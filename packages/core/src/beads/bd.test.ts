import { describe, expect, it } from 'vitest';
import { parseClaimError } from './bd.js';

describe('parseClaimError (multi-word owners, optional timestamp)', () => {
  it.each([
    ['already claimed by Recovery Agent', 'Recovery Agent', null],
    ['already claimed by System Auto-Fixer at 2026-02-19T06:00:00Z', 'System Auto-Fixer', '2026-02-19T06:00:00'],
    ['already claimed by nightly_dispatch', 'nightly_dispatch', null],
    ['Error: already claimed by Some Long Agent Name here', 'Some Long Agent Name here', null],
    ['Error claiming bd-x1: issue already claimed by alice', 'alice', null],
    ['already claimed by nightly_dispatch at 2026-02-19T06:00:00Z', 'nightly_dispatch', '2026-02-19T06:00:00'],
    ['Error claiming bd-x1: issue already claimed by Agent at Home', 'Agent at Home', null],
    ['already claimed by Bob at the office', 'Bob at the office', null],
    ['already claimed by Bob at the office at 2026-11-24T06:00:00Z', 'Bob at the office', '2026-11-24T06:00:00'],
    ['already claimed by Bob at 2026-11-24 06:00:00', 'Bob', '2026-11-24T06:00:00'],
    ['already claimed by Bob at 2026-11-24T06:00:00.123+02:00', 'Bob', '2026-11-24T06:00:00'],
    ['already claimed by Meet at 2026 planning', 'Meet at 2026 planning', null],
  ])('%s → %s', (text, owner, at) => {
    expect(parseClaimError(text)).toEqual({ claimedBy: owner, claimedAt: at });
  });

  it('returns undefined for other errors', () => {
    expect(parseClaimError('Error claiming bd-x1: issue not claimable: status closed')).toBeUndefined();
    // texts that are not claim errors
    for (const text of ['Some other error message', 'Permission denied', '', 'claimed by'])
      expect(parseClaimError(text)).toBeUndefined();
  });
});
