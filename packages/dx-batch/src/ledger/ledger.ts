import fs from 'node:fs';
import path from 'node:path';
import { appendLineDurably } from '@dx/core';
import type { WavePaths } from '../waves/paths.js';
import type { ItemState, ItemStatus } from '../waves/state.js';

/** One line of an item's ledger: what happened, from which state to which, under which lease token. */
export interface LedgerRecord {
  at: string;
  wave_id: string;
  beads_id: string;
  token: number;
  event: string;
  /** The item's status before and after, when the event changed it. */
  from?: ItemStatus;
  to?: ItemStatus;
  /** The state machine's state after the event. */
  state?: ItemState;
  attempt?: number;
  phase?: 'implement' | 'review';
  provider?: string;
  /** The fleet host of the attempt's job. */
  host?: string;
  job_beads?: string;
  run_instance?: string | null;
  reason_code?: string | null;
  verdict?: string | null;
  detail?: string;
}

export function ledgerFile(paths: WavePaths, beads: string): string {
  return path.join(paths.ledgers, `${beads}.ledger.jsonl`);
}

/** Append-only and flushed to disk before the transition it records takes effect. */
export function appendLedger(paths: WavePaths, record: Omit<LedgerRecord, 'at' | 'wave_id'>): void {
  fs.mkdirSync(paths.ledgers, { recursive: true, mode: 0o700 });
  const file = ledgerFile(paths, record.beads_id);
  appendLineDurably(file, JSON.stringify({ at: new Date().toISOString(), wave_id: paths.waveId, ...record }));
}

/** Every record; a line cut short by a crash mid-write is skipped. */
export function readLedger(paths: WavePaths, beads: string): LedgerRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(ledgerFile(paths, beads), 'utf8');
  } catch {
    return [];
  }
  const out: LedgerRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as LedgerRecord);
    } catch {
      // truncated tail of a killed writer
    }
  }
  return out;
}
