import fs from 'node:fs';
import { DxError, ExitCode } from '../errors.js';
import type { LogsOutput } from '../schemas/outputs.js';
import { StateFileError } from '../state/atomic.js';
import { cutMarker, readLogSegments } from './capped-log.js';
import { requireJob } from './store.js';

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

/** The last `count` lines of a file, read backwards in chunks so a huge log costs little. */
export function tailLines(file: string, count: number): string[] {
  if (count <= 0) return [];
  const fd = openLog(file);
  try {
    const size = fs.fstatSync(fd).size;
    const chunk = 64 * 1024;
    let pos = size;
    const parts: Buffer[] = [];
    let newlines = 0;
    while (pos > 0 && newlines <= count) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, pos);
      parts.unshift(buf);
      for (let i = buf.indexOf(0x0a); i >= 0; i = buf.indexOf(0x0a, i + 1)) newlines++;
    }
    // decoded once: a character that straddles two chunks is read whole (a CJK answer in the log)
    const lines = Buffer.concat(parts).toString('utf8').split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-count);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The last lines of a job's log. While the job runs, a log past limits.max_log_mb keeps its tail in
 * separate segments; they are read in order after the head, with the cut marker between.
 */
export function readJobLog(root: string | undefined, beads: string, lines: number): LogsOutput {
  const job = requireJob(root, beads);
  if (!fs.existsSync(job.paths.log)) {
    throw new DxError(`no log file for ${beads} (${job.paths.log})`, {
      exitCode: ExitCode.general,
      reasonCode: 'log_missing',
      nextAction: 'check_the_job_state',
    });
  }
  let files: string[];
  let collected: string[] = [];
  try {
    files = readLogSegments(job.paths.log);
    const dropped = job.outcome?.log_bytes_dropped ?? job.heartbeat?.log_bytes_dropped;
    // newest first: the tail segments, then (past a cut) the marker, then the head
    for (const file of files.slice(1).reverse()) {
      if (collected.length >= lines) break;
      collected = [...tailLines(file, lines - collected.length), ...collected];
    }
    if (files.length > 1 && collected.length < lines) collected = [cutMarker(dropped).trimEnd(), ...collected];
    if (collected.length < lines) collected = [...tailLines(files[0], lines - collected.length), ...collected];
  } catch (err) {
    if (!(err instanceof StateFileError)) throw err;
    throw new DxError(`cannot read the log of ${beads}: ${err.message}`, {
      exitCode: ExitCode.general,
      reasonCode: 'state_file_corrupt',
      nextAction: 'inspect_or_remove_the_corrupt_state_file',
    });
  }
  const dropped = job.outcome?.log_bytes_dropped ?? job.heartbeat?.log_bytes_dropped ?? 0;
  return {
    beads,
    provider: job.paths.provider,
    log: job.paths.log,
    lines: collected,
    cut: dropped > 0 || files.length > 1,
    bytes_dropped: dropped > 0 ? dropped : null,
  };
}
