import fs from 'node:fs';
import type { z } from 'zod';
import type { Redactor } from '../secrets/redact.js';
import {
  isNoSpace,
  readFileIfExists,
  removeTree,
  StateFileError,
  writeFileAtomic,
  writeFileExclusive,
} from '../state/atomic.js';
import { KvParseError, parseKv, serializeKv, type KvValue } from '../state/kv.js';
import { rotateFile, type JobPaths } from '../state/layout.js';
import { compileRecordDecoder, type RecordDecoder } from './record-decode.js';
import {
  BlockedSchema,
  ControlSchema,
  HeartbeatSchema,
  MetaSchema,
  OutcomeSchema,
  type BlockedRecord,
  type ControlRecord,
  type HeartbeatRecord,
  type MetaRecord,
  type OutcomeRecord,
} from './records.js';

/**
 * Reading and writing a job's key=value records. Each record kind is built from its typed shape,
 * redacted field by field, and validated on write by reading it back with the same schema the
 * readers use, so nothing is ever written that a reader would call corrupt.
 */
export const RECORD_SCHEMAS = {
  meta: MetaSchema,
  heartbeat: HeartbeatSchema,
  outcome: OutcomeSchema,
  control: ControlSchema,
  blocked: BlockedSchema,
} as const;
export type RecordKind = keyof typeof RECORD_SCHEMAS;
export interface RecordTypes {
  meta: MetaRecord;
  heartbeat: HeartbeatRecord;
  outcome: OutcomeRecord;
  control: ControlRecord;
  blocked: BlockedRecord;
}

/** Lists written comma-separated (`none` when empty); every other list is a JSON array. */
const CSV_LISTS = new Set(['provider_switch_from']);

/** A record that cannot be read: unparseable, invalid for its schema, or not a regular file. */
export class CorruptRecordError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
    this.name = 'CorruptRecordError';
  }
}

function positive(n: number | undefined): boolean {
  return n !== undefined && Number.isInteger(n) && n > 0;
}

/** What a writer must always record: the identity of every live process it names. */
function writeRule(kind: RecordKind, record: Record<string, unknown>): string | undefined {
  if (
    kind === 'meta' &&
    record.watcher_pid !== undefined &&
    !positive(record.watcher_start_ticks as number | undefined)
  ) {
    return 'a meta naming a watcher pid must carry its kernel start time';
  }
  if (kind === 'heartbeat') {
    if (!positive(record.watcher_start_ticks as number | undefined))
      return 'a heartbeat must carry the watcher kernel start time';
    if (record.agent_pid !== undefined && !positive(record.agent_start_ticks as number | undefined))
      return 'a heartbeat naming an agent pid must carry its kernel start time';
  }
  return undefined;
}

function toKv(record: Record<string, unknown>, redactor: Redactor | undefined): Record<string, KvValue> {
  const out: Record<string, KvValue> = {};
  const text = (v: string) => (redactor ? redactor.redact(v) : v);
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) {
      const items = value.map((v) => text(String(v)));
      out[key] = CSV_LISTS.has(key) ? (items.length > 0 ? items.join(',') : 'none') : items;
    } else if (typeof value === 'string') out[key] = text(value);
    else out[key] = value as KvValue;
  }
  return out;
}

/** The file content of a record: redacted, serialised, and proven to read back with its schema. */
export function encodeRecord<K extends RecordKind>(kind: K, record: RecordTypes[K], redactor?: Redactor): string {
  const broken = writeRule(kind, record);
  if (broken) throw new Error(`refusing to write a ${kind} record: ${broken}`);
  const text = serializeKv(toKv(record, redactor));
  const check = RECORD_SCHEMAS[kind].safeParse(parseKv(text));
  if (!check.success) {
    const issue = check.error.issues[0];
    throw new InvalidRecordError(
      String(issue.path[0] ?? ''),
      `refusing to write an invalid ${kind} record: ${issue.path.join('.')}: ${issue.message}`,
    );
  }
  return text;
}

/** A record its own writer refused: `field` is the first key its schema did not accept. */
export class InvalidRecordError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidRecordError';
  }
}

/**
 * An outcome's text. A field its schema refuses (a value a provider plugin reported oddly) is left
 * out, and named to `onLeftOut`, when the outcome can do without it: a job's end is on record
 * whatever one of its details holds. A required field refused is still an error (a bug of ours).
 */
function encodeOutcome(
  outcome: OutcomeRecord,
  redactor: Redactor | undefined,
  onLeftOut?: (field: string, why: string) => void,
): string {
  let record: Record<string, unknown> = outcome;
  for (;;) {
    try {
      return encodeRecord('outcome', record as OutcomeRecord, redactor);
    } catch (err) {
      const field = err instanceof InvalidRecordError ? err.field : undefined;
      const optional =
        field !== undefined &&
        OutcomeSchema.shape[field as keyof typeof OutcomeSchema.shape]?.safeParse(undefined).success;
      if (!optional || !(field in record)) throw err;
      onLeftOut?.(field, (err as Error).message);
      const { [field]: _leftOut, ...rest } = record;
      record = rest;
    }
  }
}

export function writeRecord<K extends RecordKind>(
  file: string,
  kind: K,
  record: RecordTypes[K],
  redactor?: Redactor,
  options: { spares?: string[] } = {},
): void {
  writeFileAtomic(file, encodeRecord(kind, record, redactor), 0o600, options);
}

/** Each kind's one-pass reader, compiled on first use (null: its schema has none). */
const decoders: Partial<Record<RecordKind, RecordDecoder | null>> = {};
function decoderFor(kind: RecordKind): RecordDecoder | null {
  let decoder = decoders[kind];
  if (decoder === undefined) decoder = decoders[kind] = compileRecordDecoder(RECORD_SCHEMAS[kind]) ?? null;
  return decoder;
}

/**
 * A record from its text, as its schema reads it; CorruptRecordError (naming the file) when the
 * schema refuses it. The one-pass reader answers for every record the schema accepts; zod reads
 * what it refuses, and words the error.
 */
export function decodeRecord<K extends RecordKind>(kind: K, text: string, file: string): RecordTypes[K] {
  const fast = decoderFor(kind)?.(text);
  if (fast) return fast as RecordTypes[K];
  let kv: Record<string, string>;
  try {
    kv = parseKv(text, file);
  } catch (err) {
    if (err instanceof KvParseError) throw new CorruptRecordError(file, err.message);
    throw err;
  }
  const parsed = (RECORD_SCHEMAS[kind] as z.ZodType).safeParse(kv);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue.path.join('.') || '(record)';
    throw new CorruptRecordError(
      file,
      `${file}: ${key}: ${issue.message}${text.endsWith('\n') ? '' : ' (file looks truncated)'}`,
    );
  }
  return parsed.data as RecordTypes[K];
}

/** Read one record; undefined when missing, CorruptRecordError (naming the file) when unreadable. */
export function readRecord<K extends RecordKind>(file: string, kind: K): RecordTypes[K] | undefined {
  let text: string | undefined;
  try {
    text = readFileIfExists(file);
  } catch (err) {
    if (err instanceof StateFileError) throw new CorruptRecordError(file, err.message);
    throw err;
  }
  return text === undefined ? undefined : decodeRecord(kind, text, file);
}

/** Move a corrupt state file aside to `<file>.corrupt.N` (kept for inspection, never deleted). */
export function setAsideCorrupt(file: string): string | undefined {
  for (let n = 1; n < 10_000; n++) {
    const target = `${file}.corrupt.${n}`;
    if (fs.existsSync(target)) continue;
    try {
      fs.renameSync(file, target);
      return target;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
  throw new Error(`too many corrupt copies of ${file}`);
}

export type PublishResult = 'written' | 'kept_existing';

/**
 * Publish the outcome of one run instance: first writer wins for that instance. A file in the way
 * that is corrupt (or not a regular file) is set aside as `.outcome.corrupt.N`; an outcome left by
 * another instance is rotated like any earlier outcome. The rc file follows the published outcome.
 */
export function publishOutcome(
  paths: JobPaths,
  outcome: OutcomeRecord,
  redactor?: Redactor,
  onLeftOut?: (field: string, why: string) => void,
): PublishResult {
  const content = encodeOutcome(outcome, redactor, onLeftOut);
  for (let attempt = 0; attempt < 5; attempt++) {
    // on a full file system the outcome takes the place of the pid file or heartbeat it makes obsolete
    if (writeFileExclusive(paths.outcome, content, 0o600, { spares: [paths.pid, paths.heartbeat] })) {
      try {
        writeFileAtomic(paths.rc, `${outcome.exit_code}\n`);
      } catch (err) {
        // the rc file repeats the outcome's exit code for older readers; the outcome is what counts
        if (!isNoSpace(err)) throw err;
      }
      return 'written';
    }
    let existing: OutcomeRecord | undefined;
    try {
      existing = readRecord(paths.outcome, 'outcome');
    } catch (err) {
      if (!(err instanceof CorruptRecordError)) throw err;
      setAsideCorrupt(paths.outcome);
      continue;
    }
    if (existing?.run_instance === outcome.run_instance) return 'kept_existing';
    if (existing) rotateFile(paths.outcome);
  }
  throw new Error(`could not publish the outcome of ${paths.beads}: ${paths.outcome} keeps reappearing`);
}

/** The instance a job's meta names now, or undefined when it cannot be read. */
export function currentInstance(paths: JobPaths): string | undefined {
  try {
    return readRecord(paths.meta, 'meta')?.run_instance;
  } catch {
    return undefined;
  }
}

/** False only when the job's meta names another instance (an unreadable meta names none). */
export function isCurrentInstance(paths: JobPaths, runInstance: string): boolean {
  const current = currentInstance(paths);
  return current === undefined || current === runInstance;
}

/**
 * Remove what only matters while one instance runs (pid and control files, private HOME and
 * TMPDIR), and only while that instance is still the job's current one: a late cleanup must never
 * delete the files of the instance that replaced it.
 */
export function cleanupInstance(paths: JobPaths, runInstance: string, options: { keepHome?: boolean } = {}): boolean {
  if (!isCurrentInstance(paths, runInstance)) return false;
  for (const file of [paths.pid, paths.control]) fs.rmSync(file, { force: true });
  removeTree(paths.tmp);
  if (!options.keepHome) removeTree(paths.home);
  return true;
}
