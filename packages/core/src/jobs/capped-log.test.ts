import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CappedLog, readLogSegments, sealLog, tailSegments } from './capped-log.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-capped-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const line = (n: number) => `line ${String(n).padStart(6, '0')}\n`;

describe('CappedLog', () => {
  it('keeps the head and a rolling tail within the cap, then seals them into one file with one marker', () => {
    const file = path.join(dir, 'job.log');
    const log = new CappedLog(file, { capBytes: 10_000, headBytes: 2000 });
    for (let n = 0; n < 5000; n++) log.write(line(n));
    const onDisk =
      fs.statSync(file).size + tailSegments(file).reduce((s, f) => s + (fs.existsSync(f) ? fs.statSync(f).size : 0), 0);
    expect(onDisk).toBeLessThanOrEqual(10_000);
    expect(readLogSegments(file)).toHaveLength(3);
    const totals = log.seal();
    expect(totals.total).toBe(5000 * 12);
    const text = fs.readFileSync(file, 'utf8');
    const marker = text.split('\n').find((l) => l.startsWith('[dx-runner]'))!;
    // kept bytes = what was written minus what was dropped (plus the marker line, and the newline ending the cut head)
    expect(text.replace(`\n${marker}\n`, '').length).toBe(totals.total - totals.dropped);
    expect(text.startsWith(line(0))).toBe(true);
    expect(text.endsWith(line(4999))).toBe(true);
    expect(text.match(/\[dx-runner\] log cut/g)).toHaveLength(1);
    expect(text).toContain(`${totals.dropped} bytes dropped here`);
    expect(tailSegments(file).some((f) => fs.existsSync(f))).toBe(false);
  });

  it('writes a small log whole and leaves no marker', () => {
    const file = path.join(dir, 'small.log');
    const log = new CappedLog(file, { capBytes: 10_000 });
    log.write('hello\n');
    expect(log.seal()).toEqual({ total: 6, dropped: 0 });
    expect(fs.readFileSync(file, 'utf8')).toBe('hello\n');
  });

  it('seals a tail a dead writer left apart, with a marker that says the count is unknown', () => {
    const file = path.join(dir, 'dead.log');
    const log = new CappedLog(file, { capBytes: 3000, headBytes: 1000 });
    for (let n = 0; n < 1000; n++) log.write(line(n));
    // the writer flushes (the watcher does every 500 ms), then dies without sealing
    log.flush();
    sealLog(file, undefined);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('how many is unknown');
    expect(text.endsWith(line(999))).toBe(true);
  });

  it('never writes through a symlink', () => {
    const target = path.join(dir, 'target');
    fs.writeFileSync(target, 'keep');
    fs.symlinkSync(target, path.join(dir, 'link.log'));
    expect(() => new CappedLog(path.join(dir, 'link.log'), { capBytes: 1000 })).toThrow();
    expect(fs.readFileSync(target, 'utf8')).toBe('keep');
  });
});
