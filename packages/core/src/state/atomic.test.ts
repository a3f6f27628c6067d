import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileIfExists, StateFileError } from './atomic.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let dir: string;
beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-atomic-')));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readFileIfExists', () => {
  it('reads a state file whole, whatever its size, multi-byte text included', () => {
    for (const text of ['', 'x', 'état=ok\n', 'a=1\n'.repeat(1024), '€'.repeat(70_000)]) {
      const file = path.join(dir, `f-${text.length}`);
      fs.writeFileSync(file, text);
      expect(readFileIfExists(file)).toBe(text);
    }
  });

  it('undefined for a missing file; a directory, a FIFO or a symlink is a StateFileError', () => {
    expect(readFileIfExists(path.join(dir, 'missing'))).toBeUndefined();
    expect(() => readFileIfExists(dir)).toThrow(StateFileError);
    const link = path.join(dir, 'link');
    fs.symlinkSync(path.join(dir, 'f-1'), link);
    expect(() => readFileIfExists(link)).toThrow(/is a symlink/);
  });
});
