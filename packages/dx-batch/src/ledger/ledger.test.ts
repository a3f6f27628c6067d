import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { wavePaths } from '../waves/paths.js';
import { appendLedger, ledgerFile, readLedger, reconcileLedger } from './ledger.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-batch-ledger-'));
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

describe('item ledger', () => {
  it('appends private JSONL records and survives a line cut short by a crash', () => {
    const paths = wavePaths(root, 'wave-1');
    appendLedger(paths, { beads_id: 'bd-1', token: 1, event: 'attempt_started', from: 'PENDING', to: 'IMPLEMENTING' });
    fs.appendFileSync(ledgerFile(paths, 'bd-1'), '{"at":"2026-11-24T10:00:00Z","wave_id":"wa');
    appendLedger(paths, { beads_id: 'bd-1', token: 2, event: 'job_relaunched' });
    expect(readLedger(paths, 'bd-1').map((r) => [r.event, r.token, r.wave_id])).toEqual([
      ['attempt_started', 1, 'wave-1'],
      ['job_relaunched', 2, 'wave-1'],
    ]);
    expect(fs.statSync(ledgerFile(paths, 'bd-1')).mode & 0o777).toBe(0o600);
    expect(readLedger(paths, 'bd-unknown')).toEqual([]);
  });

  it('a resumed transition does not write again what a killed orchestrator wrote ahead of the state', () => {
    const paths = wavePaths(root, 'wave-1');
    const started = {
      beads_id: 'bd-1',
      event: 'job_started',
      attempt: 1,
      run_instance: 'r-1',
      state: 'IMPLEMENTING' as const,
    };
    const completed = { beads_id: 'bd-1', event: 'implement_completed', attempt: 1, from: 'IMPLEMENTING' as const };
    appendLedger(paths, { ...started, token: 1 });
    const ahead = readLedger(paths, 'bd-1');
    // the same step under the next token: already there; what follows it is still written
    expect(reconcileLedger(ahead, [{ ...started, token: 2 }], 2)).toEqual([]);
    expect(
      reconcileLedger(
        ahead,
        [
          { ...started, token: 2 },
          { ...completed, token: 2 },
        ],
        2,
      ),
    ).toEqual([{ ...completed, token: 2 }]);
    // the resumed wave went another way: the record stays, said not to have taken effect
    const other = { beads_id: 'bd-1', event: 'job_relaunched', attempt: 1, token: 2 };
    const written = reconcileLedger(ahead, [other], 2);
    expect(written.map((r) => r.event)).toEqual(['transition_not_recorded', 'job_relaunched']);
    expect(written[0].detail).toMatch(/job_started .*not applied/);
  });
});
