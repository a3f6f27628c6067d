import fs from 'node:fs';
import path from 'node:path';
import { appendLineDurably, DxError, ExitCode, writeFileAtomic } from '@dx/core';
import type { WavePaths } from './paths.js';

/**
 * A wave's state on disk: `wave_state.json` is a snapshot of the whole wave, and each transition
 * since is one line of the journal beside it, `wave_state.journal.<seq>.jsonl`, named by the seq
 * the snapshot was taken at. A transition writes one item (a line of a few KB) instead of the whole
 * wave, so its cost does not grow with the wave; every JOURNAL_LIMIT lines, and whenever the wave's
 * status changes, the snapshot is rewritten and the journal starts again. Readers take the snapshot
 * and replay its journal; nothing else reads these files.
 *
 * One writer per wave (the orchestrator holding the wave lock) and no cache: what a process last
 * wrote or read is kept only to number its next line.
 */
export const JOURNAL_LIMIT = 64;

/** A journal line: the wave's own fields as they are after the transition, and the items it changed. */
interface JournalEntry {
  seq: number;
  wave: Record<string, unknown>;
  items: Array<{ beads_id: string }>;
}

/** Per snapshot file: the last seq this process wrote or read, and the seq its snapshot was taken at. */
const position = new Map<string, { seq: number; base: number }>();

function journalFile(paths: WavePaths, base: number): string {
  return path.join(paths.dir, `wave_state.journal.${base}.jsonl`);
}

function corrupt(file: string, detail: string): DxError {
  return new DxError(`wave state ${file}: ${detail}`, { exitCode: ExitCode.general, reasonCode: 'wave_state_corrupt' });
}

/**
 * The whole wave: a snapshot. Every journal goes once it is in place — all it held is in the
 * snapshot, and the next transition starts a journal of its own.
 */
export function writeSnapshot(paths: WavePaths, wave: { items: unknown[] }): void {
  const seq = position.get(paths.state)?.seq ?? 0;
  writeFileAtomic(paths.state, `${JSON.stringify({ ...wave, journal_seq: seq }, null, 2)}\n`);
  position.set(paths.state, { seq, base: seq });
  for (const name of fs.readdirSync(paths.dir))
    if (/^wave_state\.journal\.\d+\.jsonl$/.test(name)) fs.rmSync(path.join(paths.dir, name), { force: true });
}

/**
 * One transition: the wave's fields and the items it changed, appended to the journal (fsynced).
 * False when this process has no position in the wave yet or the journal is full: the caller
 * writes a snapshot instead.
 */
export function appendTransition(
  paths: WavePaths,
  wave: Record<string, unknown> & { items: unknown[] },
  changed: ReadonlyArray<{ beads_id: string }>,
): boolean {
  const at = position.get(paths.state);
  if (!at || at.seq - at.base >= JOURNAL_LIMIT) return false;
  const { items: _all, ...fields } = wave;
  const entry: JournalEntry = { seq: at.seq + 1, wave: fields, items: [...changed] };
  appendLineDurably(journalFile(paths, at.base), JSON.stringify(entry));
  at.seq = entry.seq;
  return true;
}

/** The snapshot's data, and the inode it was read from (a new snapshot is a new file, renamed in). */
function readSnapshot(paths: WavePaths): { data: Record<string, unknown>; inode: number } {
  let text: string;
  let inode: number;
  try {
    const fd = fs.openSync(paths.state, 'r');
    try {
      inode = fs.fstatSync(fd).ino;
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DxError(`wave ${paths.waveId} not found (${paths.state})`, {
        exitCode: ExitCode.general,
        reasonCode: 'wave_not_found',
        nextAction: 'create_or_verify_wave_id',
      });
    }
    throw err;
  }
  try {
    const data: unknown = JSON.parse(text);
    if (data && typeof data === 'object' && !Array.isArray(data))
      return { data: data as Record<string, unknown>, inode };
  } catch {
    // reported below
  }
  throw corrupt(paths.state, 'not valid JSON (truncated?)');
}

/** Whether wave_state.json is still the file read as `inode` (false once a new snapshot replaced it). */
function sameSnapshot(paths: WavePaths, inode: number): boolean {
  try {
    return fs.statSync(paths.state).ino === inode;
  } catch {
    return false;
  }
}

function readJournal(file: string): string[] | undefined {
  try {
    return fs.readFileSync(file, 'utf8').split('\n');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * The wave as its writer last left it: the snapshot with its journal replayed (not yet validated).
 * A line cut short by a writer killed mid-append is skipped (that transition never completed, and
 * the next one starts on a line of its own); a transition missing between two others is
 * corruption. A journal that vanished while being read (the writer took a new snapshot) means
 * reading again.
 */
export function readWaveData(paths: WavePaths): Record<string, unknown> {
  for (let attempt = 0; ; attempt++) {
    const { data: snapshot, inode } = readSnapshot(paths);
    const base = typeof snapshot.journal_seq === 'number' ? snapshot.journal_seq : 0;
    const file = journalFile(paths, base);
    const lines = readJournal(file);
    // no journal: none begun yet, or a new snapshot took its place while this one was read
    if (lines === undefined && attempt < 5 && !sameSnapshot(paths, inode)) continue;
    const { journal_seq: _seq, ...wave } = snapshot;
    const items = Array.isArray(wave.items) ? [...(wave.items as Array<{ beads_id?: unknown }>)] : [];
    const index = new Map(items.map((item, i) => [item?.beads_id, i]));
    let fields: Record<string, unknown> = wave;
    let seq = base;
    for (const [n, line] of (lines ?? []).entries()) {
      let entry: JournalEntry | null;
      try {
        entry = JSON.parse(line) as JournalEntry | null;
      } catch {
        continue;
      }
      if (typeof entry !== 'object' || entry === null) continue;
      if (entry.seq !== seq + 1 || !Array.isArray(entry.items) || !entry.wave)
        throw corrupt(file, `transition ${seq + 1} is missing (line ${n + 1} holds ${String(entry.seq)})`);
      fields = entry.wave;
      for (const item of entry.items) {
        const i = index.get(item.beads_id);
        if (i === undefined) index.set(item.beads_id, items.push(item) - 1);
        else items[i] = item;
      }
      seq = entry.seq;
    }
    position.set(paths.state, { seq, base });
    return { ...fields, items };
  }
}
