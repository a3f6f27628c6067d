import { describe, expect, it } from 'vitest';
import { SAME_CLOCK } from '@dx/core';
import type { LostJob } from '../waves/state.js';
import { lostJobFate } from './lost-jobs.js';

const lost = (fields: Partial<LostJob> = {}): LostJob => ({
  beads_id: 'bd-1',
  host: 'b',
  job_beads: 'bd-1-implement',
  run_instance: null,
  attempt: 2,
  requested_at: '2026-11-29T10:00:00.000Z',
  lost_at: '2026-11-29T10:02:00.000Z',
  ...fields,
});
const view = (started_at: string | null, outcome_state: string | null = null, run_instance = 'ri-x') => ({
  run_instance,
  started_at,
  outcome_state,
});

describe('what became of a job given up with its host', () => {
  it('with its run instance known, only that instance is ours', () => {
    const known = lost({ run_instance: 'ri-2' });
    expect(lostJobFate(known, view('2026-11-29T09:00:00.000Z', null, 'ri-2'), SAME_CLOCK)).toBe('still_running');
    expect(lostJobFate(known, view('2026-11-29T09:00:00.000Z', 'success', 'ri-2'), SAME_CLOCK)).toBe('finished');
    expect(lostJobFate(known, view('2026-11-29T10:01:00.000Z', null, 'ri-3'), SAME_CLOCK)).toBe('another_job');
  });

  it('a cut-off start: a job that started between the request and the give-up is ours', () => {
    expect(lostJobFate(lost(), view('2026-11-29T10:00:01.000Z'), SAME_CLOCK)).toBe('still_running');
    expect(lostJobFate(lost(), view('2026-11-29T10:00:01.000Z', 'failed'), SAME_CLOCK)).toBe('finished');
  });

  it('a cut-off start: an earlier attempt’s finished job of the same name is not taken for this one', () => {
    // attempt 1 ran on b under the same name and failed; attempt 2's start never got there
    expect(lostJobFate(lost(), view('2026-11-29T09:40:00.000Z', 'failed'), SAME_CLOCK)).toBe('another_job');
  });

  it('a cut-off start: a job started after the give-up is a later one', () => {
    expect(lostJobFate(lost(), view('2026-11-29T10:05:00.000Z'), SAME_CLOCK)).toBe('another_job');
  });

  it('a job the host cannot date is taken as ours, and a state from before requested_at was kept keeps the old rule', () => {
    expect(lostJobFate(lost(), view(null), SAME_CLOCK)).toBe('still_running');
    expect(lostJobFate(lost({ requested_at: null }), view('2026-11-29T09:40:00.000Z'), SAME_CLOCK)).toBe(
      'still_running',
    );
  });

  it('a host whose clock is 5 min behind ours: its own dates are read through that clock', () => {
    const behind = { offsetMs: -5 * 60_000, uncertaintyMs: 400 };
    // started at 10:01 our time, which the host wrote as 09:56: this attempt's, still running
    expect(lostJobFate(lost(), view('2026-11-29T09:56:00.000Z'), behind)).toBe('still_running');
    expect(lostJobFate(lost(), view('2026-11-29T09:56:00.000Z'), SAME_CLOCK)).toBe('another_job');
    // 09:40 by the host's clock is 09:45 ours: still an earlier attempt's
    expect(lostJobFate(lost(), view('2026-11-29T09:40:00.000Z', 'failed'), behind)).toBe('another_job');
    // a host ahead: 10:04 by its clock is 09:59 ours, before the request
    const ahead = { offsetMs: 5 * 60_000, uncertaintyMs: 400 };
    expect(lostJobFate(lost(), view('2026-11-29T10:04:00.000Z', 'failed'), ahead)).toBe('another_job');
    // within the reading's uncertainty it stays ours: 10:04:59.800 by a host 5 min ahead (±400 ms)
    // may be 09:59:59.400 or 10:00:00.200 ours
    expect(lostJobFate(lost(), view('2026-11-29T10:04:59.800Z'), ahead)).toBe('still_running');
  });
});
