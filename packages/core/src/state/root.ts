import fs from 'node:fs';
import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import { assertRootOnThisHost } from './host-claim.js';
import { assertEnvValue } from '../config/env.js';
import { expandHome, xdgDirectory } from '../config/xdg.js';

/**
 * A tool's state directory: `$<override>` (absolute, or `~/…`), else
 * `${XDG_STATE_HOME:-~/.local/state}/<name>`. A relative override would follow the working
 * directory — cron (at /) and a shell elsewhere would keep two ledgers, each blind to the other's
 * jobs): refused, not guessed. A quoted `~/state` in a crontab (no shell expands it) is the home's.
 */
export function toolStatePath(name: string, override: string, env: NodeJS.ProcessEnv = process.env): string {
  const raw = env[override]?.trim();
  if (raw) {
    assertEnvValue(override, 'absolute-path', env);
    return path.resolve(expandHome(raw, env));
  }
  return path.join(xdgDirectory('XDG_STATE_HOME', path.join('.local', 'state'), env), name);
}

export function stateRootPath(env: NodeJS.ProcessEnv = process.env): string {
  return toolStatePath('dx-runner', 'DX_RUNNER_STATE_DIR', env);
}

function refuse(dir: string, why: string, reasonCode: string, label = 'state root'): never {
  throw new DxError(`unsafe ${label} ${dir}: ${why}`, {
    exitCode: ExitCode.permissionDenied,
    reasonCode,
    nextAction: 'point_DX_RUNNER_STATE_DIR_at_a_private_directory_you_own',
  });
}

/**
 * Everything under the state root controls which processes dx-runner will signal, so a root that
 * someone else could plant or edit is refused rather than trusted.
 */
export function assertSafeStateRoot(dir: string, label = 'state root'): void {
  const st = fs.lstatSync(dir);
  if (st.isSymbolicLink()) refuse(dir, 'it is a symlink', 'state_root_symlink', label);
  if (!st.isDirectory()) refuse(dir, 'it is not a directory', 'state_root_not_directory', label);
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  if (uid !== undefined && st.uid !== uid)
    refuse(dir, `it is owned by uid ${st.uid}, not ${uid}`, 'state_root_foreign_owner', label);
  if ((st.mode & 0o022) !== 0) {
    refuse(
      dir,
      `it is group/world-writable (mode ${(st.mode & 0o777).toString(8)})`,
      'state_root_insecure_permissions',
      label,
    );
  }
}

/**
 * Resolve and vet the state root. With create=false a missing root yields undefined so read-only
 * commands never create directories as a side effect.
 */
export function openStateRoot(options: { env?: NodeJS.ProcessEnv; create: boolean }): string | undefined {
  return openPrivateRoot(stateRootPath(options.env), options.create);
}

/** A private root directory (created 0700 when asked) that passes the same safety checks and is this host's (host-claim.ts). */
export function openPrivateRoot(dir: string, create: boolean, label = 'state root'): string | undefined {
  if (!fs.existsSync(dir) && !isDanglingSymlink(dir)) {
    if (!create) return undefined;
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  assertSafeStateRoot(dir, label);
  assertRootOnThisHost(dir, label);
  return dir;
}

function isDanglingSymlink(p: string): boolean {
  try {
    return fs.lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
