import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';

/**
 * A file an operator names (a prompt, a policy or profile, an allowed-paths list, a signoff) that
 * cannot be read: `code` is the system's (ENOENT, EACCES, …), or ENOTREG (not a kind of file the
 * reader takes), EFBIG (larger than the limit), ETIMEDOUT (a pipe whose writer gave nothing more
 * for a minute) or EILSEQ (not UTF-8 text).
 */
export interface InputFileError extends Error {
  code: string;
  /** The file's size, when it was refused as too large. */
  size?: number;
  /** What an error line says about it, for the refusals of this reader's own. */
  problem?: string;
}

function refusal(file: string, problem: string, code: string, size?: number): InputFileError {
  return Object.assign(new Error(`${file}: ${problem}`), { code, size, problem });
}

/** How long a pipe's writer may stay silent before the read gives up. */
const PIPE_SILENCE_MS = 60_000;

/**
 * Read a file an operator named, as UTF-8: a regular file, or (with `pipes`) a pipe (`<(…)`, a
 * FIFO) read to its end, at most `maxBytes`. It is opened without blocking and judged by its open
 * descriptor: a directory, a device (/dev/zero) or a socket is refused at once, a FIFO nobody
 * writes to reads as empty, and a writer silent for a minute is given up on, so nothing named on a
 * command line can hang the command or fill its memory. Files read again later by their path (a
 * policy, a profile: a wave hands its policy to every job) take no pipe, which gives its text once.
 * Throws an InputFileError.
 */
export function readInputFile(file: string, maxBytes: number, options: { pipes?: boolean } = {}): string {
  const pipes = options.pipes ?? true;
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() && !(pipes && st.isFIFO()))
      throw refusal(file, pipes ? 'not a file or a pipe' : 'not a regular file', 'ENOTREG');
    if (st.size > maxBytes) throw refusal(file, `larger than ${maxBytes} bytes`, 'EFBIG', st.size);
    return decodeText(file, readToEnd(fd, maxBytes));
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The text of what an operator gave, as UTF-8 — refused when it is not: decoding a Latin-1 `café`
 * would hand the agent (or the policy) `caf�` without a word. A leading byte-order mark is dropped.
 */
export function decodeText(source: string, bytes: Buffer): string {
  if (!isUtf8(bytes)) {
    let line = 1;
    let start = 0;
    for (let nl = bytes.indexOf(10); nl !== -1 && isUtf8(bytes.subarray(start, nl)); nl = bytes.indexOf(10, start)) {
      start = nl + 1;
      line++;
    }
    throw refusal(source, `not UTF-8 text (line ${line}): save it as UTF-8`, 'EILSEQ');
  }
  const text = bytes.toString('utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

/**
 * Everything `fd` gives until its end, refused past `maxBytes` (one chunk past it at most is read:
 * a file that grows while it is read is not read on). A non-blocking descriptor with nothing yet
 * (a pipe's slow writer, a terminal left non-blocking) is waited for in short pauses, bounded.
 */
export function readToEnd(fd: number, maxBytes: number): Buffer {
  const chunks: Buffer[] = [];
  let length = 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let silentSince: number | undefined;
  for (;;) {
    const chunk = Buffer.allocUnsafe(64 * 1024);
    let n: number;
    try {
      n = fs.readSync(fd, chunk, 0, chunk.length, null);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EOF') break;
      if (code !== 'EAGAIN') throw err;
      silentSince ??= performance.now();
      if (performance.now() - silentSince > PIPE_SILENCE_MS)
        throw refusal(`fd ${fd}`, `nothing more came within ${PIPE_SILENCE_MS / 1000} s`, 'ETIMEDOUT');
      Atomics.wait(pause, 0, 0, 20);
      continue;
    }
    if (n === 0) break;
    silentSince = undefined;
    chunks.push(chunk.subarray(0, n));
    length += n;
    if (length > maxBytes) throw refusal(`fd ${fd}`, `larger than ${maxBytes} bytes`, 'EFBIG', length);
  }
  return Buffer.concat(chunks, length);
}

/** The few words an error line says about why an input file could not be read. */
export function inputFileProblem(err: unknown): string {
  const { code, problem } = err as { code?: unknown; problem?: string };
  if (problem) return problem;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'not readable (permission denied)';
  return typeof code === 'string' ? code : (err as Error).message;
}
