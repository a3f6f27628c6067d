import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { wavePaths } from '../waves/paths.js';
import { appendLedger, ledgerFile, readLedger } from './ledger.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-batch-ledger-'));
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
});
