import fs from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir } from './atomic.js';

/** Where every file of one job instance lives: `<root>/<provider>/<beads>.<kind>`. */
export interface JobPaths {
  readonly root: string;
  readonly dir: string;
  readonly provider: string;
  readonly beads: string;
  readonly meta: string;
  readonly outcome: string;
  readonly log: string;
  readonly heartbeat: string;
  readonly pid: string;
  readonly rc: string;
  readonly control: string;
  readonly prompt: string;
  readonly blocked: string;
  readonly watcherLog: string;
  readonly home: string;
  readonly tmp: string;
}

/**
 * Every file or directory name a job uses is `<beads><suffix>`; rotations append `.N`
 * (`.log.N`, `.outcome.N`, `.outcome.corrupt.N`). Beads ids are checked against this list so one
 * job's names can never be another job's (see beads-id.ts).
 */
export const JOB_FILE_SUFFIXES = [
  '.meta',
  '.outcome',
  '.log',
  '.heartbeat',
  '.pid',
  '.rc',
  '.control',
  '.prompt',
  '.blocked',
  '.watcher.log',
  '.home',
  '.tmp',
] as const;

export function jobPaths(root: string, provider: string, beads: string): JobPaths {
  const dir = path.join(root, provider);
  const base = path.join(dir, beads);
  return {
    root,
    dir,
    provider,
    beads,
    meta: `${base}.meta`,
    outcome: `${base}.outcome`,
    log: `${base}.log`,
    heartbeat: `${base}.heartbeat`,
    pid: `${base}.pid`,
    rc: `${base}.rc`,
    control: `${base}.control`,
    prompt: `${base}.prompt`,
    blocked: `${base}.blocked`,
    watcherLog: `${base}.watcher.log`,
    home: `${base}.home`,
    tmp: `${base}.tmp`,
  };
}

/** The lock every command that changes a job's lifecycle holds (under `<root>/.locks`). */
export function jobLockName(beads: string): string {
  return `beads-${beads}`;
}

const PROVIDER_DIR = /^[a-z][a-z0-9-]*$/;

/** Provider directories under the root; dot-directories (locks) and stray files are skipped. */
export function listProviderDirs(root: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(root, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  return entries
    .filter((e) => e.isDirectory() && PROVIDER_DIR.test(e.name))
    .map((e) => e.name)
    .sort();
}

/** Beads ids that have a `<beads><suffix>` file (by default their meta) in one provider directory. */
export function listBeadsInProviderDir(
  root: string,
  provider: string,
  suffix: (typeof JOB_FILE_SUFFIXES)[number] = '.meta',
): string[] {
  return beadsWithSuffix(providerDirNames(root, provider), suffix);
}

/** The names in one provider directory (none when it does not exist), for several suffix lookups. */
export function providerDirNames(root: string, provider: string): string[] {
  try {
    return fs.readdirSync(path.join(root, provider));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

export function beadsWithSuffix(names: readonly string[], suffix: (typeof JOB_FILE_SUFFIXES)[number]): string[] {
  return names.filter((n) => n.endsWith(suffix) && !n.startsWith('.')).map((n) => n.slice(0, -suffix.length));
}

export function ensureProviderDir(root: string, provider: string): string {
  const dir = path.join(root, provider);
  ensurePrivateDir(dir);
  return dir;
}

/** Move `file` aside to `file.N` with the smallest free N ≥ 1 (.1 is the oldest). */
export function rotateFile(file: string): string | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    return undefined;
  }
  if (st.size === 0) {
    fs.rmSync(file, { force: true });
    return undefined;
  }
  for (let n = 1; n < 100_000; n++) {
    const target = `${file}.${n}`;
    if (!fs.existsSync(target)) {
      fs.renameSync(file, target);
      return target;
    }
  }
  throw new Error(`too many rotated copies of ${file}`);
}
