import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DxError, ExitCode } from '../errors.js';
import { readFileIfExists, StateFileError, writeFileExclusive } from './atomic.js';
import { KvParseError, parseKv, serializeKv } from './kv.js';

/**
 * A state root belongs to one machine. Whether a job is alive, whether a lock's holder is, which
 * process a stop may signal: all of it is judged by pid and kernel start time, which mean nothing on
 * another machine. A root shared between hosts (a home directory on NFS, the default
 * `~/.local/state`) would have each host see the other's live jobs as dead — and its watchdog
 * finalize and restart them. So the first opening of a root claims it for this machine
 * (`<root>/.host`), and any other machine is refused with a sentence naming the owner.
 */
export const HOST_CLAIM_FILE = '.host';

export interface HostIdentity {
  /** `DX_RUNNER_HOST_ID`, else the machine id (`/etc/machine-id`): stable across renames and reboots. */
  id: string;
  hostname: string;
}

const MACHINE_ID_FILES = ['/etc/machine-id', '/var/lib/dbus/machine-id'];

/**
 * This machine, or null when it cannot be told apart from another: no machine id (a container
 * image without one) and no `DX_RUNNER_HOST_ID`. The host name is no substitute — a recreated
 * container gets a new one and would be refused its own root — so such a host claims nothing.
 */
export function thisHostIdentity(env: NodeJS.ProcessEnv = process.env): HostIdentity | null {
  const id = env.DX_RUNNER_HOST_ID?.trim() || systemMachineId();
  return id ? { id, hostname: os.hostname() } : null;
}

let machineId: { value: string | undefined } | undefined;
/** Read once per process: a wave opens the state root at every in-process read. */
function systemMachineId(): string | undefined {
  machineId ??= {
    value: MACHINE_ID_FILES.map(readSystemFile).find(
      (found) => found !== undefined && /^[0-9a-f]{16,64}$/i.test(found),
    ),
  };
  return machineId.value;
}

/** A system file (followed if it is a symlink, as /etc/machine-id often is), trimmed; undefined if unreadable. */
function readSystemFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

function refuse(root: string, label: string, why: string): never {
  throw new DxError(`${label} ${root} ${why}`, {
    exitCode: ExitCode.permissionDenied,
    reasonCode: 'state_root_other_host',
    nextAction: 'give_each_host_its_own_state_root',
  });
}

/** True when the claim was written, or cannot be (a root this user may only read stays unclaimed). */
function claimFile(file: string, claim: string): boolean {
  try {
    return writeFileExclusive(file, claim);
  } catch (err) {
    if (['EACCES', 'EPERM', 'EROFS'].includes((err as NodeJS.ErrnoException).code ?? '')) return true;
    throw err;
  }
}

/** Claims `root` for this machine on first use; refuses a root another machine claimed. */
export function assertRootOnThisHost(
  root: string,
  label = 'state root',
  me: HostIdentity | null = thisHostIdentity(),
): void {
  if (me === null) return;
  const file = path.join(root, HOST_CLAIM_FILE);
  let owner: Record<string, string> = {};
  try {
    let text = readFileIfExists(file);
    if (text === undefined) {
      const claim = serializeKv({ machine_id: me.id, hostname: me.hostname, claimed_at: new Date().toISOString() });
      if (claimFile(file, claim)) return;
      // another process claimed it between our read and our write: judge its claim
      text = readFileIfExists(file) ?? '';
    }
    owner = parseKv(text, file);
  } catch (err) {
    if (!(err instanceof KvParseError || err instanceof StateFileError)) throw err;
  }
  if (!owner.machine_id)
    refuse(root, label, `has an unreadable ${file}: remove it if this host alone uses the directory`);
  if (owner.machine_id !== me.id)
    refuse(
      root,
      label,
      `belongs to host ${owner.hostname ?? '(unnamed)'}, not to this one (${me.hostname}): what runs there can only ` +
        `be judged there. Give this host a root of its own, or remove ${file} if the disk moved here`,
    );
}
