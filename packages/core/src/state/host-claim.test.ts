import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DxError } from '../errors.js';
import { assertRootOnThisHost, HOST_CLAIM_FILE, thisHostIdentity } from './host-claim.js';
import { parseKv } from './kv.js';
import { openStateRoot } from './root.js';

let root: string;
const savedHostId = process.env.DX_RUNNER_HOST_ID;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-host-claim-'));
  process.env.DX_RUNNER_HOST_ID = 'a'.repeat(32);
});
afterEach(() => {
  fs.rmSync(root, { recursive: true, force: true });
  if (savedHostId === undefined) delete process.env.DX_RUNNER_HOST_ID;
  else process.env.DX_RUNNER_HOST_ID = savedHostId;
});

const claimFile = () => path.join(root, HOST_CLAIM_FILE);
const other = { id: 'f'.repeat(32), hostname: 'build-07' };

function refusal(fn: () => void): DxError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DxError) return err;
    throw err;
  }
  throw new Error('not refused');
}

describe('a state root belongs to the host that first used it', () => {
  it("claims a root on first use with this machine's id, and opens it again afterwards", () => {
    expect(openStateRoot({ env: { DX_RUNNER_STATE_DIR: root }, create: false })).toBe(root);
    const claim = parseKv(fs.readFileSync(claimFile(), 'utf8'));
    expect(claim).toMatchObject({ machine_id: 'a'.repeat(32), hostname: os.hostname() });
    expect(fs.statSync(claimFile()).mode & 0o777).toBe(0o600);
    expect(openStateRoot({ env: { DX_RUNNER_STATE_DIR: root }, create: false })).toBe(root);
  });

  it('refuses a root another machine claimed, naming that host, and leaves its claim alone', () => {
    assertRootOnThisHost(root, 'state root', other);
    const before = fs.readFileSync(claimFile(), 'utf8');
    const err = refusal(() => openStateRoot({ env: { DX_RUNNER_STATE_DIR: root }, create: true }));
    expect(err).toMatchObject({ exitCode: 22, reasonCode: 'state_root_other_host' });
    expect(err.nextAction).toBe('give_each_host_its_own_state_root');
    expect(err.message).toContain(`belongs to host build-07, not to this one (${os.hostname()})`);
    expect(err.message).not.toContain('ffffff');
    expect(err.message).not.toContain('\n');
    expect(fs.readFileSync(claimFile(), 'utf8')).toBe(before);
  });

  it("is this machine's id unless DX_RUNNER_HOST_ID names one; a machine without either claims nothing", () => {
    expect(thisHostIdentity({ DX_RUNNER_HOST_ID: ' ctr-7 ' })).toEqual({ id: 'ctr-7', hostname: os.hostname() });
    const machineId = fs.existsSync('/etc/machine-id') ? fs.readFileSync('/etc/machine-id', 'utf8').trim() : '';
    if (/^[0-9a-f]{16,64}$/i.test(machineId)) expect(thisHostIdentity({})?.id).toBe(machineId);
    assertRootOnThisHost(root, 'state root', null);
    expect(fs.existsSync(claimFile())).toBe(false);
  });

  it('refuses a root whose claim cannot be read, rather than guess whose it is', () => {
    for (const garbled of ['', 'not a record', 'hostname=x\n']) {
      fs.writeFileSync(claimFile(), garbled);
      const err = refusal(() => assertRootOnThisHost(root));
      expect(err.reasonCode).toBe('state_root_other_host');
      expect(err.message).toContain(`unreadable ${claimFile()}`);
    }
    fs.rmSync(claimFile());
    fs.symlinkSync('/etc/hostname', claimFile());
    expect(refusal(() => assertRootOnThisHost(root)).reasonCode).toBe('state_root_other_host');
  });
});
