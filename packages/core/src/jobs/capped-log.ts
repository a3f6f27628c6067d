import fs from 'node:fs';
import { openAppendNoFollow } from '../state/atomic.js';

/**
 * A log that never grows past its cap: the first `headBytes` are kept as written, then a rolling
 * tail is kept in two segment files (`<log>.tail.0|1`, each up to half the tail budget) — when the
 * current one is full the older one is dropped and reused. When the log is sealed the segments are
 * appended to the log after one marker line that says how many bytes were dropped, so a finished
 * job's log is one file: head, marker, tail. Writing costs the same whatever the volume: nothing is
 * ever copied until the log is sealed.
 */
export interface CappedLogOptions {
  /** Total bytes kept on disk (head + tail). */
  capBytes: number;
  /** Bytes of the beginning kept as they were written (default: a fifth of the cap). */
  headBytes?: number;
  /** Gather writes (default) or write each one at once (diagnostics, where the last words matter). */
  buffered?: boolean;
}

export interface LogTotals {
  /** Bytes the writer was given. */
  total: number;
  /** Bytes dropped between the head and the tail. */
  dropped: number;
}

export const TAIL_SEGMENTS = ['.tail.0', '.tail.1'] as const;

export function tailSegments(log: string): [string, string] {
  return [`${log}${TAIL_SEGMENTS[0]}`, `${log}${TAIL_SEGMENTS[1]}`];
}

export function cutMarker(dropped: number | undefined): string {
  const what =
    dropped === undefined
      ? 'bytes dropped here (how many is unknown: the watcher ended before it sealed the log)'
      : `${dropped} bytes dropped here`;
  return `[dx-runner] log cut: ${what} (limits.max_log_mb); the beginning and the end are kept\n`;
}

function size(file: string): number {
  try {
    return fs.lstatSync(file).size;
  } catch {
    return 0;
  }
}

/** Writes are gathered up to this size before they reach the file (a flood costs few system calls). */
const WRITE_BUFFER_BYTES = 64 * 1024;

export class CappedLog {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly headBytes: number;
  private readonly bufferBytes: number;
  private readonly segmentBytes: number;
  private readonly segments: [string, string];
  private fd: number;
  private headWritten: number;
  private current = -1;
  private currentBytes = 0;
  private readonly sizes = [0, 0];
  private totals: LogTotals = { total: 0, dropped: 0 };
  private failed?: NodeJS.ErrnoException;

  constructor(
    readonly file: string,
    options: CappedLogOptions,
  ) {
    this.headBytes = Math.min(options.headBytes ?? Math.floor(options.capBytes / 5), options.capBytes);
    this.bufferBytes = options.buffered === false ? 0 : WRITE_BUFFER_BYTES;
    this.segmentBytes = Math.max(1, Math.floor((options.capBytes - this.headBytes) / 2));
    this.segments = tailSegments(file);
    this.fd = openAppendNoFollow(file);
    this.headWritten = fs.fstatSync(this.fd).size;
  }

  /** The first write error (e.g. ENOSPC); once set, nothing more is written. */
  get error(): NodeJS.ErrnoException | undefined {
    return this.failed;
  }

  get counts(): LogTotals {
    return { ...this.totals };
  }

  write(text: string): void {
    let data = Buffer.from(text);
    this.totals.total += data.length;
    if (this.failed) {
      this.totals.dropped += data.length;
      return;
    }
    try {
      if (this.headWritten < this.headBytes) {
        // the head ends exactly at its size; the rest of a line that crosses it starts the tail
        const room = this.headBytes - this.headWritten;
        const head = data.length <= room ? data : data.subarray(0, room);
        this.queue(head);
        this.headWritten += head.length;
        data = data.subarray(head.length);
        if (data.length === 0) return;
      }
      // the tail fills one segment, then the other: each exactly its size, so the log never exceeds the cap
      while (data.length > 0) {
        if (this.current < 0 || this.currentBytes >= this.segmentBytes) this.nextSegment();
        const piece = data.subarray(0, this.segmentBytes - this.currentBytes);
        this.queue(piece);
        this.currentBytes += piece.length;
        this.sizes[this.current] = this.currentBytes;
        data = data.subarray(piece.length);
      }
    } catch (err) {
      this.failed = err as NodeJS.ErrnoException;
      this.totals.dropped += data.length;
    }
  }

  private queue(data: Buffer): void {
    this.pending.push(data);
    this.pendingBytes += data.length;
    if (this.pendingBytes >= this.bufferBytes) this.flush();
  }

  /** Write what is gathered to the current file (also called by the watcher on a timer, so readers lag little). */
  flush(): void {
    if (this.pendingBytes === 0 || this.fd < 0) return;
    const data = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    try {
      fs.writeSync(this.fd, data);
    } catch (err) {
      this.failed ??= err as NodeJS.ErrnoException;
      this.totals.dropped += data.length;
    }
  }

  /** Start the other segment, dropping what it held (the oldest part of the tail). */
  private nextSegment(): void {
    this.flush();
    const leaving = this.current;
    this.current = this.current < 0 ? 0 : 1 - this.current;
    this.totals.dropped += this.sizes[this.current];
    if (this.fd >= 0) {
      // The segment left behind is the older one from now on. File times tick coarsely (a few ms),
      // so both segments can carry the same mtime; a reader that orders them by mtime (sealLog after
      // a dead writer, readLogSegments) must still see this one first.
      if (leaving >= 0) {
        try {
          fs.futimesSync(this.fd, new Date(), new Date(Date.now() - 1000));
        } catch {
          // ordering hint only
        }
      }
      fs.closeSync(this.fd);
    }
    this.fd = -1;
    fs.rmSync(this.segments[this.current], { force: true });
    this.fd = openAppendNoFollow(this.segments[this.current]);
    this.currentBytes = 0;
    this.sizes[this.current] = 0;
  }

  /**
   * Give back the space the tail holds (or, without a tail, the end of the head), so a job whose
   * disk filled up can still record its outcome. Nothing more is written to this log.
   */
  reclaim(): void {
    this.pending = [];
    this.pendingBytes = 0;
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    const freed = this.segments.reduce((n, seg) => n + size(seg), 0);
    for (const seg of this.segments) fs.rmSync(seg, { force: true });
    if (freed === 0) {
      const keep = Math.max(0, size(this.file) - 256 * 1024);
      try {
        fs.truncateSync(this.file, keep);
      } catch {
        // nothing left to give back
      }
    }
    this.current = -1;
    this.totals.dropped = this.totals.total - Math.min(size(this.file), this.totals.total);
    this.failed ??= Object.assign(new Error('log space reclaimed'), { code: 'ENOSPC' });
  }

  /** Close the log and append the tail (after the cut marker) to it. */
  seal(): LogTotals {
    this.flush();
    if (this.fd >= 0) fs.closeSync(this.fd);
    if (this.current < 0 && this.failed) return this.counts;
    this.fd = -1;
    if (!this.failed) {
      try {
        sealLog(this.file, this.totals.dropped, this.current < 0 ? undefined : this.current);
      } catch (err) {
        this.failed = err as NodeJS.ErrnoException;
      }
    }
    return this.counts;
  }
}

/**
 * Append a log's tail segments (older first) to it after the cut marker and remove them. Also used
 * for a log whose watcher died before sealing it (`newest` unknown: by modification time).
 */
export function sealLog(file: string, dropped: number | undefined, newest?: number): void {
  const segments = tailSegments(file);
  const present = segments.map((s) => fs.existsSync(s));
  if (!present[0] && !present[1]) return;
  let order: string[];
  if (newest !== undefined) order = [segments[1 - newest], segments[newest]];
  else order = segments.filter((_, i) => present[i]).sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
  const fd = openAppendNoFollow(file);
  try {
    // the marker is a line of its own even when the head ended inside a line
    const last = lastByte(file);
    fs.writeSync(fd, `${last !== undefined && last !== 0x0a ? '\n' : ''}${cutMarker(dropped)}`);
    for (const segment of order) {
      if (!fs.existsSync(segment)) continue;
      fs.writeSync(fd, fs.readFileSync(segment));
    }
  } finally {
    fs.closeSync(fd);
  }
  for (const segment of segments) fs.rmSync(segment, { force: true });
}

function lastByte(file: string): number | undefined {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  try {
    const size = fs.fstatSync(fd).size;
    if (size === 0) return undefined;
    const buf = Buffer.alloc(1);
    fs.readSync(fd, buf, 0, 1, size - 1);
    return buf[0];
  } finally {
    fs.closeSync(fd);
  }
}

/** Bytes a log occupies with its unsealed tail segments (a running job's log). */
export function logBytesOnDisk(file: string): number {
  return size(file) + tailSegments(file).reduce((n, s) => n + size(s), 0);
}

/**
 * The text of a job log as a reader should see it while the job runs: the head, a marker if a
 * tail is being kept apart, then the tail segments in order (for `logs`, reports and the evidence).
 */
export function readLogSegments(file: string): string[] {
  const segments = tailSegments(file).filter((s) => fs.existsSync(s));
  if (segments.length === 0) return [file];
  segments.sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs);
  return [file, ...segments];
}
