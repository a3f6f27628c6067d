import fs from 'node:fs';
import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../state/atomic.js';

/**
 * A tool that starts jobs for a longer piece of work (a dx-batch wave) holds them: `start --owner
 * dx-batch:<wave>` places a hold for that owner, and retention never removes a job whose owner
 * still holds it — a paused wave resumed weeks later finds every job it ran. The owner releases
 * the hold when its work is over (`dx-runner release --owner`).
 */
export const OWNER_PATTERN = /^[a-z][a-z0-9-]*:[A-Za-z0-9._:-]{1,128}$/;

const HOLDS_DIR = '.holds';

export function assertOwner(owner: string): string {
  if (!OWNER_PATTERN.test(owner)) {
    throw new DxError(
      `invalid owner ${JSON.stringify(owner.slice(0, 80))}: expected <tool>:<id>, e.g. dx-batch:wave-1`,
      { exitCode: ExitCode.usage, reasonCode: 'invalid_owner', nextAction: 'pass_--owner_as_tool:id' },
    );
  }
  return owner;
}

function holdFile(root: string, owner: string): string {
  return path.join(root, HOLDS_DIR, assertOwner(owner));
}

export function placeHold(root: string, owner: string): void {
  const file = holdFile(root, owner);
  if (fs.existsSync(file)) return;
  ensurePrivateDir(path.dirname(file));
  writeFileAtomic(file, `${new Date().toISOString()}\n`);
}

/** True when a hold was there to release. */
export function releaseHold(root: string | undefined, owner: string): boolean {
  if (!root) return false;
  const file = holdFile(root, owner);
  const existed = fs.existsSync(file);
  fs.rmSync(file, { force: true });
  return existed;
}

export function listHolds(root: string | undefined): string[] {
  if (!root) return [];
  try {
    return fs
      .readdirSync(path.join(root, HOLDS_DIR))
      .filter((n) => OWNER_PATTERN.test(n))
      .sort();
  } catch {
    return [];
  }
}

export function isHeld(root: string, owner: string | undefined): boolean {
  return owner !== undefined && OWNER_PATTERN.test(owner) && fs.existsSync(path.join(root, HOLDS_DIR, owner));
}
