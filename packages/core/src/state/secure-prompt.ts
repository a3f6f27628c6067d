import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A beads id made safe for a file name: `[^a-zA-Z0-9_-]` → `_`, at most 50 characters. */
export function sanitizeForFileName(id: string): string {
  return id.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 50);
}

export interface SecurePromptFile {
  readonly path: string;
  /** Idempotent; never throws (a prompt file that cannot be removed is not worth failing a dispatch). */
  remove(): void;
}

/**
 * A prompt written the way mkstemp would: an unpredictable name (`<prefix><id>_<random>.prompt`),
 * created exclusively (a planted file or symlink makes it fail, never followed) with mode 0600.
 * Callers remove it once dx-runner has acknowledged the launch (start keeps its own private copy).
 */
export function writeSecurePromptFile(
  prefix: string,
  id: string,
  text: string,
  dir: string = os.tmpdir(),
): SecurePromptFile {
  for (let tries = 0; tries < 5; tries++) {
    const file = path.join(dir, `${prefix}${sanitizeForFileName(id)}_${randomBytes(9).toString('base64url')}.prompt`);
    let fd: number;
    try {
      fd = fs.openSync(
        file,
        fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
        0o600,
      );
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    try {
      fs.fchmodSync(fd, 0o600);
      fs.writeSync(fd, text);
    } catch (err) {
      fs.closeSync(fd);
      fs.rmSync(file, { force: true });
      throw err;
    }
    fs.closeSync(fd);
    let removed = false;
    return {
      path: file,
      remove() {
        if (removed) return;
        removed = true;
        try {
          fs.rmSync(file, { force: true });
        } catch {
          // best effort
        }
      },
    };
  }
  throw new Error(`could not create a unique prompt file in ${dir}`);
}
