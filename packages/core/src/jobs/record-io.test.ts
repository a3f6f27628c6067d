import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobPaths, type JobPaths } from '../state/layout.js';
import { sampleMeta } from '../testing/records.js';
import { CorruptRecordError, publishOutcome, readRecord, writeRecord } from './record-io.js';
import type { OutcomeRecord } from './records.js';

/** Reading a record back: what was written comes back typed; anything garbled is a CorruptRecordError naming the file. */
// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-record-io-'));
  paths = jobPaths(root, 'fake', 'bd-rec');
  fs.mkdirSync(path.dirname(paths.meta), { recursive: true, mode: 0o700 });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const T = '2026-11-30T06:00:00.000Z';
let paths: JobPaths;

function rewrite(file: string, edit: (text: string) => string) {
  fs.writeFileSync(file, edit(fs.readFileSync(file, 'utf8')));
}

describe('readRecord', () => {
  it('gives back what was written, lists and numbers typed', () => {
    const meta = sampleMeta(paths, root, { started_at: T, provider_switch_from: ['opencode', 'gemini'], retries: 2 });
    writeRecord(paths.meta, 'meta', meta);
    const back = readRecord(paths.meta, 'meta');
    expect(back).toMatchObject({ provider_switch_from: ['opencode', 'gemini'], retries: 2 });
  });

  it.each([
    ['a JSON list cut short', 'provider_switch_from=["opencode","gem\n'],
    ['a JSON list cut short, no final newline', 'provider_switch_from=["opencode","gem'],
  ])('%s is a corrupt record naming the file and the key, not an exception of another kind', (_label, tail) => {
    writeRecord(paths.meta, 'meta', sampleMeta(paths, root, { started_at: T }));
    rewrite(paths.meta, (text) => text.replace(/^provider_switch_from=.*\n/m, '') + tail);
    let thrown: unknown;
    try {
      readRecord(paths.meta, 'meta');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(CorruptRecordError);
    expect((thrown as CorruptRecordError).file).toBe(paths.meta);
    expect((thrown as Error).message).toContain('provider_switch_from: expected a list');
    if (!tail.endsWith('\n')) expect((thrown as Error).message).toContain('(file looks truncated)');
  });
});

describe('publishOutcome', () => {
  const outcome = (over: Record<string, unknown>): OutcomeRecord => ({
    beads: 'bd-rec',
    provider: 'fake',
    run_id: '20261130060000',
    exit_code: 0,
    state: 'success',
    reason_code: 'process_exit',
    completed_at: T,
    duration_sec: 3,
    retries: 0,
    selected_model: 'm',
    fallback_reason: 'none',
    run_instance: `run-${Math.random()}`,
    host: 'h',
    cwd: root,
    worktree: root,
    provider_switch_from: [],
    ...over,
  });

  it('leaves out a detail it cannot record (a plugin reported 2.5 tokens) instead of the whole outcome', () => {
    fs.rmSync(paths.outcome, { force: true });
    const leftOut: string[] = [];
    const result = publishOutcome(
      paths,
      outcome({ tokens_input: 2.5, tokens_output: 4, retry_after_sec: NaN }),
      undefined,
      (f) => leftOut.push(f),
    );
    expect(result).toBe('written');
    expect(leftOut.sort()).toEqual(['retry_after_sec', 'tokens_input']);
    const back = readRecord(paths.outcome, 'outcome');
    expect(back).toMatchObject({ state: 'success', exit_code: 0, tokens_output: 4 });
    expect(back?.tokens_input).toBeUndefined();
  });

  it('still refuses an outcome whose required field is wrong (that is a bug, not a detail)', () => {
    fs.rmSync(paths.outcome, { force: true });
    expect(() => publishOutcome(paths, outcome({ exit_code: 1.5 }))).toThrow(/exit_code: expected an integer/);
    expect(fs.existsSync(paths.outcome)).toBe(false);
  });
});
