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
  /** The chain's provider for the item's next attempt, when the event moved the chain on. */
  next_provider?: string;
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

type NewRecord = Omit<LedgerRecord, 'at' | 'wave_id'>;

/** The same step of the same transition: every field but when it was written and under which lease token. */
function sameStep(written: LedgerRecord, record: NewRecord): boolean {
  const fields = (r: Partial<LedgerRecord>) => {
    const { at: _at, wave_id: _wave, token: _token, ...rest } = r;
    return JSON.stringify(
      Object.entries(rest)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  };
  return fields(written) === fields(record);
}

/**
 * The ledger is written ahead of the wave state, so an orchestrator killed between the two leaves
 * records of a transition the state never took (`unrecorded`). When the resumed wave makes its
 * next transition of that item: records it already holds are not written twice; records of a
 * transition that went another way stay, followed by a line saying they did not take effect.
 * `records` are what this transition writes; the answer is what to append.
 */
export function reconcileLedger(
  unrecorded: readonly LedgerRecord[],
  records: readonly NewRecord[],
  token: number,
): NewRecord[] {
  if (unrecorded.length <= records.length && unrecorded.every((w, i) => sameStep(w, records[i])))
    return records.slice(unrecorded.length);
  const beads = unrecorded[0].beads_id;
  return [
    {
      beads_id: beads,
      token,
      event: 'transition_not_recorded',
      detail: `the orchestrator stopped after writing ${unrecorded.map((r) => r.event).join(', ')} and before recording it in the wave state: not applied`,
    },
    ...records,
  ];
}
