import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobPaths } from '../state/layout.js';
import { sampleMeta } from '../testing/records.js';
import { CorruptRecordError, readRecord, writeRecord } from './record-io.js';

/** Reading a record back: what was written comes back typed; anything garbled is a CorruptRecordError naming the file. */
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-record-io-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const T = '2026-11-30T06:00:00.000Z';
const paths = jobPaths(root, 'fake', 'bd-rec');
fs.mkdirSync(path.dirname(paths.meta), { recursive: true, mode: 0o700 });

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
