import fs from 'node:fs';
import path from 'node:path';

let counter = 0;

function tempName(file: string): string {
  counter += 1;
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${counter}.tmp`);
}

/**
 * The content (fsynced unless not `durable`) under a fresh temporary name beside `file`, ready to be
 * renamed or linked into place; nothing is left behind when it cannot be written. When the file
 * system has no room (for a new file, or for its bytes), a `spare` (a file of ours in the same
 * directory that the write makes obsolete) gives up its inode and block instead.
 */
function writeTemp(file: string, content: string, mode: number, durable = true, spares: string[] = []): string {
  const tmp = tempName(file);
  try {
    writeWhole(fs.openSync(tmp, 'wx', mode), content, durable);
    return tmp;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if (!isNoSpace(err) || !reuseSpare(spares, tmp)) throw err;
  }
  try {
    // written over the spare's first block, which the file already holds, then cut to length
    writeWhole(fs.openSync(tmp, fs.constants.O_RDWR | fs.constants.O_NOFOLLOW), content, durable, true);
    return tmp;
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function writeWhole(fd: number, content: string, durable: boolean, overwrite = false): void {
  try {
    if (overwrite) {
      const bytes = Buffer.from(content);
      fs.writeSync(fd, bytes, 0, bytes.length, 0);
      fs.ftruncateSync(fd, bytes.length);
    } else fs.writeSync(fd, content);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether an error says the file system has no room left: no free block, no free inode, or a quota reached. */
export function isNoSpace(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** Renames the first spare that exists to `tmp` (no new inode); false when none does. */
function reuseSpare(spares: string[], tmp: string): boolean {
  for (const spare of spares) {
    try {
      fs.renameSync(spare, tmp);
      return true;
    } catch {
      // not there: the next one
    }
  }
  return false;
}

/** Whether `name` is a temporary file of writeFileAtomic / writeFileExclusive beside a file. */
export function isTempName(name: string): boolean {
  return /^\..+\.\d+\.\d+\.tmp$/.test(name);
}

/**
 * Write a whole file so readers see either the old or the new content, never a torn one.
 * `durable: false` skips the fsync (what means nothing after a reboot).
 */
export function writeFileAtomic(
  file: string,
  content: string,
  mode = 0o600,
  options: { spares?: string[]; durable?: boolean } = {},
): void {
  const tmp = writeTemp(file, content, mode, options.durable ?? true, options.spares);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Append one line and fsync it. A writer killed mid-line leaves a tail without its newline: the new
 * line starts on a line of its own, so the torn one stays alone where readers skip it.
 */
export function appendLineDurably(file: string, line: string, mode = 0o600): void {
  const fd = fs.openSync(file, 'a+', mode);
  try {
    const size = fs.fstatSync(fd).size;
    const last = Buffer.alloc(1);
    const lead = size > 0 && fs.readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a ? '\n' : '';
    fs.writeSync(fd, `${lead}${line}\n`);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Publish a file only if none exists yet (link(2) fails with EEXIST atomically), whole: a reader
 * never sees it empty or half written, as it would between open(O_EXCL) and write. Returns false
 * when another writer got there first. `durable: false` skips the fsync (locks and leases that
 * mean nothing after a reboot).
 */
export function writeFileExclusive(
  file: string,
  content: string,
  mode = 0o600,
  options: { durable?: boolean; spares?: string[] } = {},
): boolean {
  const tmp = writeTemp(file, content, mode, options.durable ?? true, options.spares);
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** A state file that is not a regular file we can read (a directory, FIFO, socket, device or symlink). */
export class StateFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'StateFileError';
  }
}

const KIND: ReadonlyArray<readonly [(st: fs.Stats) => boolean, string]> = [
  [(st) => st.isDirectory(), 'is a directory, not a regular file'],
  [(st) => st.isFIFO(), 'is a FIFO, not a regular file'],
  [(st) => st.isSocket(), 'is a socket, not a regular file'],
  [(st) => st.isCharacterDevice() || st.isBlockDevice(), 'is a device, not a regular file'],
];

/**
 * Read a state file without following a symlink and without blocking (a FIFO planted under a
 * state name must never hang a command): anything but a regular file is a StateFileError.
 * Undefined when the file does not exist. (The one-call read cannot see a file's kind; what it can
 * open and read to the end is taken as read: a FIFO whose writer already wrote and left gives what
 * was written, as a file would. A device node there could only have been made by root.)
 */
export function readFileIfExists(file: string): string | undefined {
  let text: string;
  try {
    // the common case in one call into the runtime (open, read, close): a regular file
    // (Node takes numeric open flags here; its types only list the string ones)
    text = fs.readFileSync(file, { encoding: 'utf8', flag: READ_FLAGS as unknown as string });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    return readAnyKind(file);
  }
  // an empty read is also what a FIFO without a writer gives: only fstat can tell
  return text === '' ? readAnyKind(file) : text;
}

const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;

/** The careful read: fstat names whatever is in the way (a directory, a FIFO, a socket, a device). */
function readAnyKind(file: string): string | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, READ_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    if (code === 'ELOOP') throw new StateFileError(file, 'is a symlink; state files are never followed');
    if (code === 'ENXIO') throw new StateFileError(file, 'is a socket, not a regular file');
    throw new StateFileError(file, `cannot be opened (${code ?? (err as Error).message})`);
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new StateFileError(file, KIND.find(([test]) => test(st))?.[1] ?? 'is not a regular file');
    return fs.readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof StateFileError) throw err;
    throw new StateFileError(file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  } finally {
    fs.closeSync(fd);
  }
}

/** A small JSON state file; undefined when it is missing, torn (a writer killed mid-write) or not a regular file. */
export function readJsonFileIfExists<T>(file: string): T | undefined {
  let text: string | undefined;
  try {
    text = readFileIfExists(file);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

/** Open a file for appending, never through a symlink (diagnostic and agent logs under the state root). */
export function openAppendNoFollow(file: string, mode = 0o600): number {
  return fs.openSync(
    file,
    fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW,
    mode,
  );
}

export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Remove a directory tree an agent filled, whatever modes it left: Go's module cache, Bazel's
 * output base and the like make their directories read-only, so a plain recursive remove fails
 * (EACCES) for anyone but root — which crashed the watcher at the job's end and failed every later
 * `prune`. On such a refusal each directory in the tree (never through a symlink) is made writable
 * by its owner and the remove is tried once more; what still fails is thrown.
 */
export function removeTree(dir: string): void {
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
  }
  makeDirectoriesWritable(dir);
  fs.rmSync(dir, { recursive: true, force: true });
}

function makeDirectoriesWritable(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch {
    return;
  }
  if (!stat.isDirectory()) return;
  if ((stat.mode & 0o700) !== 0o700) {
    try {
      fs.chmodSync(dir, (stat.mode & 0o7777) | 0o700);
    } catch {
      // not ours to change: the second remove names it
    }
  }
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries) makeDirectoriesWritable(path.join(dir, entry));
}
