import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CappedLog } from './capped-log.js';
import { jobLogTail, tailLines } from './logs.js';
import type { JobSnapshot } from './store.js';

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

/** A live job whose watcher writes its log through a CappedLog, as the watcher does (never sealed). */
function liveJob(capBytes: number, headBytes: number, lines: number) {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-logs-'));
  const file = path.join(dir, 'job.log');
  const log = new CappedLog(file, { capBytes, headBytes });
  const written = Array.from({ length: lines }, (_, n) => `{"n":${n},"text":"第${n}步：修复错误"}`);
  for (const line of written) log.write(`${line}\n`);
  log.flush();
  const job = {
    paths: { log: file },
    heartbeat: { log_bytes_dropped: log.counts.dropped },
  } as unknown as JobSnapshot;
  return { job, written, dropped: log.counts.dropped };
}

describe("a live job's log past its head", () => {
  it('reads the head and its one tail segment as one text: the line across them is whole, no cut marker', () => {
    // nothing dropped yet: the head (1,000 bytes) and the first tail segment
    const { job, written, dropped } = liveJob(10_000, 1000, 60);
    expect(dropped).toBe(0);
    const tail = jobLogTail(job, 40);
    expect(tail.lines).toEqual(written.slice(-40));
    expect(tail.cut).toBe(true);
  });

  it('reads across its two tail segments whole, and puts the cut marker before the head', () => {
    const { job, written, dropped } = liveJob(3000, 500, 400);
    expect(dropped).toBeGreaterThan(0);
    const newest = jobLogTail(job, 20);
    expect(newest.lines).toEqual(written.slice(-20));
    expect(newest.bytesDropped).toBe(dropped);
    // more lines than the tail holds: the head's last lines, the marker, then the tail
    const all = jobLogTail(job, 1000);
    const marker = all.lines.findIndex((l) => l.startsWith('[dx-runner] log cut'));
    expect(all.lines[marker]).toContain(`${dropped} bytes dropped here`);
    expect(all.lines.slice(marker + 2)).toEqual(written.slice(-(all.lines.length - marker - 2)));
    expect(all.lines.slice(0, marker - 1)).toEqual(written.slice(0, marker - 1));
    expect(all.lines.join('\n')).not.toContain('\ufffd');
  });
});
