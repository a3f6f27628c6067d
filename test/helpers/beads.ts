import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { BD_STUB_DIR } from './paths.js';

export const BD_STUB = path.join(BD_STUB_DIR, 'bd');

export interface BeadsWorkspace {
  /** BEADS_DIR for the tools under test. */
  beadsDir: string;
  /** `bd create "Fix <id>" --id <id> -p <priority> -d "The <id> bug"`. */
  create(id: string, priority?: number): void;
  /** Any bd command against this workspace; its stdout, trimmed. */
  bd(...args: string[]): string;
}

/** A Beads workspace at `<dir>` made by the bd stub (it speaks bd's documented contract): `bd init -p <prefix>`. */
export function createBeadsWorkspace(dir: string, prefix = 'bd'): BeadsWorkspace {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(BD_STUB, ['init', '-p', prefix], { cwd: dir });
  const beadsDir = path.join(dir, '.beads');
  const bd = (...args: string[]) =>
    execFileSync(BD_STUB, args, { cwd: dir, encoding: 'utf8', env: { ...process.env, BEADS_DIR: beadsDir } }).trim();
  return {
    beadsDir,
    bd,
    create(id, priority = 1) {
      bd('create', `Fix ${id}`, '--id', id, '-p', String(priority), '-d', `The ${id} bug`, '--silent');
    },
  };
}
