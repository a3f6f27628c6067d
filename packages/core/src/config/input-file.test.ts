import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { inputFileProblem, readInputFile } from './input-file.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-input-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const failure = (file: string, maxBytes: number, options: { pipes?: boolean } = {}) => {
  try {
    readInputFile(file, maxBytes, options);
  } catch (err) {
    return { ...(err as { code: string; size?: number }), problem: inputFileProblem(err) };
  }
  throw new Error(`${file} was read`);
};

describe('readInputFile', () => {
  it('reads a regular file up to the limit and refuses one past it, naming its size', () => {
    const file = path.join(dir, 'task.md');
    fs.writeFileSync(file, 'x'.repeat(100));
    expect(readInputFile(file, 100)).toBe('x'.repeat(100));
    expect(failure(file, 99)).toMatchObject({ code: 'EFBIG', size: 100, problem: 'larger than 99 bytes' });
  });

  it('refuses a directory and a device at once, and reads a FIFO nobody writes to as empty', () => {
    expect(failure(dir, 100)).toMatchObject({ code: 'ENOTREG', problem: 'not a file or a pipe' });
    expect(failure('/dev/zero', 100)).toMatchObject({ code: 'ENOTREG' });
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(readInputFile(fifo, 100)).toBe('');
    // a file read again later by its path (a policy) takes no pipe
    expect(failure(fifo, 100, { pipes: false })).toMatchObject({ code: 'ENOTREG', problem: 'not a regular file' });
    expect(failure(path.join(dir, 'missing'), 100)).toMatchObject({ code: 'ENOENT', problem: 'no such file' });
  });
});
