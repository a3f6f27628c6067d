import fs from 'node:fs';
import { DxError, ExitCode } from '../errors.js';
import type { LogsOutput } from '../schemas/outputs.js';
import { StateFileError } from '../state/atomic.js';
import { cutMarker, readLogSegments } from './capped-log.js';
import { requireJob, type JobSnapshot } from './store.js';

/** Open a log for reading: never through a symlink, never blocking, regular files only. */
export function openLog(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (err) {
    throw new StateFileError(file, `cannot be opened (${(err as NodeJS.ErrnoException).code})`);
  }
  if (!fs.fstatSync(fd).isFile()) {
    fs.closeSync(fd);
    throw new StateFileError(file, 'is not a regular file');
  }
  return fd;
}

/**
 * The last `count` lines of a file, or of files that continue one another (a live log's tail
 * segments), read backwards in chunks so a huge log costs little; decoded once, so a character
 * across two chunks or two files is read whole and a line across two files is one line.
 */
export function tailLines(files: string | readonly string[], count: number): string[] {
  if (count <= 0) return [];
  const parts: Buffer[] = [];
  let newlines = 0;
  for (const file of (typeof files === 'string' ? [files] : files).toReversed()) {
    if (newlines > count) break;
    const fd = openLog(file);
    try {
      const chunk = 64 * 1024;
      let pos = fs.fstatSync(fd).size;
      while (pos > 0 && newlines <= count) {
        const len = Math.min(chunk, pos);
        pos -= len;
        const buf = Buffer.alloc(len);
        fs.readSync(fd, buf, 0, len, pos);
        parts.unshift(buf);
        for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) newlines++;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  const lines = Buffer.concat(parts).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-count);
}

/**
 * The last lines of a job's log. While the job runs, a log past limits.max_log_mb keeps its tail in
 * segment files that continue one another, after the head. A segment is reused (its bytes
 * dropped) only once the other exists, so with one segment the head and the tail are one text; with
 * two, the cut marker stands between the head and the tail.
 */
export function jobLogTail(job: JobSnapshot, lines: number): { lines: string[]; cut: boolean; bytesDropped: number } {
  const files = readLogSegments(job.paths.log);
  const dropped = job.outcome?.log_bytes_dropped ?? job.heartbeat?.log_bytes_dropped;
  const cut = { cut: files.length > 1 || (dropped ?? 0) > 0, bytesDropped: dropped ?? 0 };
  if (files.length <= 2) return { lines: tailLines(files, lines), ...cut };
  const tail = tailLines(files.slice(1), lines);
  if (tail.length >= lines) return { lines: tail, ...cut };
  const head = lines - tail.length > 1 ? tailLines(files[0], lines - tail.length - 1) : [];
  return { lines: [...head, cutMarker(dropped).trimEnd(), ...tail], ...cut };
}

/** The last lines of a job's log, by beads id (the `logs` command). */
export function readJobLog(root: string | undefined, beads: string, lines: number): LogsOutput {
  const job = requireJob(root, beads);
  if (!fs.existsSync(job.paths.log)) {
    throw new DxError(`no log file for ${beads} (${job.paths.log})`, {
      exitCode: ExitCode.general,
      reasonCode: 'log_missing',
      nextAction: 'check_the_job_state',
    });
  }
  let tail: ReturnType<typeof jobLogTail>;
  try {
    tail = jobLogTail(job, lines);
  } catch (err) {
    if (!(err instanceof StateFileError)) throw err;
    throw new DxError(`cannot read the log of ${beads}: ${err.message}`, {
      exitCode: ExitCode.general,
      reasonCode: 'state_file_corrupt',
      nextAction: 'inspect_or_remove_the_corrupt_state_file',
    });
  }
  return {
    beads,
    provider: job.paths.provider,
    log: job.paths.log,
    lines: tail.lines,
    cut: tail.cut,
    bytes_dropped: tail.bytesDropped > 0 ? tail.bytesDropped : null,
  };
}
