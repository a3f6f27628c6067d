import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tailLines } from './logs.js';

let dir: string | undefined;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('the tail of a log', () => {
  it('reads a character that straddles two of its chunks whole (a GLM model answering in Chinese)', () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-logs-'));
    const file = path.join(dir, 'job.log');
    const answer = '{"type":"assistant","text":"修复了登录页面的错误"}';
    const after = 'x'.repeat(100) + '\n';
    // the tail is read backwards 64 KB at a time: put the answer across that boundary, at every offset
    for (let shift = 0; shift < 6; shift++) {
      const lines = Math.floor((64 * 1024 - 10 - shift) / after.length);
      const rest = 64 * 1024 - lines * after.length - 10 - shift;
      fs.writeFileSync(file, `first\n${answer}\n${'y'.repeat(rest)}\n${after.repeat(lines)}`);
      const tail = tailLines(file, lines + 3);
      expect(tail.slice(0, 2)).toEqual(['first', answer]);
      expect(tail.join('\n')).not.toContain('\ufffd');
    }
  });
});
