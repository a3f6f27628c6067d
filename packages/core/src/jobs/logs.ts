import fs from 'node:fs';
import { DxError, ExitCode } from '../errors.js';
import type { LogsOutput } from '../schemas/outputs.js';
import { requireJob } from './store.js';

/** The last `count` lines of a file, read backwards in chunks so a huge log costs little. */
export function tailLines(file: string, count: number): string[] {
  if (count <= 0) return [];
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const chunk = 64 * 1024;
    let pos = size;
    let text = '';
    let newlines = 0;
    while (pos > 0 && newlines <= count) {
      const len = Math.min(chunk, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      fs.readSync(fd, buf, 0, len, pos);
      const part = buf.toString('utf8');
      text = part + text;
      for (const ch of part) if (ch === '\n') newlines++;
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-count);
  } finally {
    fs.closeSync(fd);
  }
}

export function readJobLog(root: string | undefined, beads: string, lines: number): LogsOutput {
  const job = requireJob(root, beads);
  if (!fs.existsSync(job.paths.log)) {
    throw new DxError(`no log file for ${beads} (${job.paths.log})`, { exitCode: ExitCode.general, reasonCode: 'log_missing', nextAction: 'check_the_job_state' });
  }
  return { beads, provider: job.paths.provider, log: job.paths.log, lines: tailLines(job.paths.log, lines) };
}
