import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BeadsGateOutputSchema, ErrorOutputSchema, findExecutable } from '@dx/core';
import { BD_STUB_DIR } from '../helpers/paths.js';
import { createSandbox, git, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
let external: string;
const bd = (cwd: string, ...args: string[]) =>
  execFileSync(path.join(BD_STUB_DIR, 'bd'), args, { cwd, encoding: 'utf8' }).trim();

beforeEach(() => {
  sb = createSandbox({ PATH: `${BD_STUB_DIR}:/usr/bin:/bin` });
  // the external Beads repo (~/bd by default) with its database and a probe issue
  external = path.join(sb.env.HOME, 'bd');
  fs.mkdirSync(external);
  git(external, 'init', '-q');
  git(external, 'remote', 'add', 'origin', 'git@github.com:stars-end/bd.git');
  bd(external, 'init', '-p', 'bd');
  bd(external, 'create', 'Gate probe', '--id', 'bd-probe', '--silent');
});
afterEach(async () => {
  await sb.cleanup();
});

async function gate(args: string[] = [], env: Record<string, string | undefined> = {}) {
  const r = await sb.dx(['beads-gate', ...args, '--json'], { env });
  return { code: r.code, json: BeadsGateOutputSchema.parse(JSON.parse(r.stdout)) };
}

describe('beads-gate (bd stub speaking the documented bd contract)', () => {
  it('passes the full beads gate, including a write probe that leaves nothing behind', async () => {
    const before = bd(external, 'show', 'bd-probe', '--json');
    const r = await gate(['--probe-id', 'bd-probe', '--write-probe']);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      passed: true,
      reason_code: 'beads_ok',
      db_status: 'connected',
      write_probe: 'passed',
      external_repo: external,
      bd: { version: '1.3.0' },
    });
    expect(r.json.project_id_db).toMatch(/^[0-9a-f-]{36}$/);
    const after = JSON.parse(bd(external, 'show', 'bd-probe', '--json'))[0];
    expect(after.status).toBe(JSON.parse(before)[0].status);
    const human = await sb.dx(['beads-gate', '--probe-id', 'bd-probe']);
    expect(human.stdout).toContain('Beads Gate: PASSED (beads_ok)');
  });

  it('beads_unavailable when bd is not on PATH (exit 24)', async () => {
    const r = await gate([], { PATH: '/usr/bin:/bin' });
    if (findExecutable('bd', { PATH: '/usr/bin:/bin' })) return; // a real bd installed system-wide
    expect(r).toMatchObject({
      code: 24,
      json: { reason_code: 'beads_unavailable', next_action: 'install_the_beads_cli' },
    });
  });

  it('beads_external_repo_missing and beads_external_remote_mismatch', async () => {
    expect((await gate([], { BEADS_REPO_PATH: path.join(sb.dir, 'nowhere') })).json.reason_code).toBe(
      'beads_external_repo_missing',
    );
    git(external, 'remote', 'set-url', 'origin', 'git@github.com:someone/fork.git');
    const r = await gate();
    expect(r).toMatchObject({
      code: 24,
      json: { reason_code: 'beads_external_remote_mismatch', external_remote: 'git@github.com:someone/fork.git' },
    });
    expect((await gate([], { BEADS_REPO_REMOTE_SUBSTR: 'someone/fork' })).json.reason_code).toBe('beads_ok');
  });

  it('beads_db_error when there is no database ("no beads database found") or it is locked', async () => {
    fs.writeFileSync(path.join(external, '.beads', 'LOCKED'), '');
    const locked = await gate();
    expect(locked).toMatchObject({
      code: 24,
      json: {
        reason_code: 'beads_db_error',
        db_status: 'error',
        details: expect.stringContaining('database is locked'),
      },
    });
    fs.rmSync(path.join(external, '.beads'), { recursive: true });
    expect((await gate()).json).toMatchObject({
      reason_code: 'beads_db_error',
      details: expect.stringContaining('no .beads directory found'),
    });
  });

  it('beads_repo_mismatch when the repo is bound to another project', async () => {
    const repo = sb.worktree('bound');
    bd(repo, 'init', '-p', 'other');
    const r = await gate(['--repo', repo]);
    expect(r).toMatchObject({
      code: 24,
      json: {
        reason_code: 'beads_repo_mismatch',
        next_action: 'reinitialize_repo_binding_bd_migrate_--update-repo-id',
      },
    });
    expect(r.json.project_id_repo).not.toBe(r.json.project_id_db);
    // a repo bound to the same project passes
    const same = sb.worktree('same');
    fs.mkdirSync(path.join(same, '.beads'));
    fs.copyFileSync(path.join(external, '.beads', 'metadata.json'), path.join(same, '.beads', 'metadata.json'));
    expect((await gate(['--repo', same])).json.reason_code).toBe('beads_ok');
  });

  it('beads_probe_not_found and beads_write_blocked (the probe issue keeps its status)', async () => {
    expect((await gate(['--probe-id', 'bd-missing'])).json.reason_code).toBe('beads_probe_not_found');
    fs.writeFileSync(path.join(external, '.beads', 'READONLY'), '');
    const r = await gate(['--probe-id', 'bd-probe', '--write-probe']);
    expect(r).toMatchObject({
      code: 24,
      json: {
        reason_code: 'beads_write_blocked',
        write_probe: 'failed',
        details: expect.stringContaining('read-only'),
      },
    });
    fs.rmSync(path.join(external, '.beads', 'READONLY'));
    expect(JSON.parse(bd(external, 'show', 'bd-probe', '--json'))[0].status).toBe('open');
  });

  it('refuses --write-probe without --probe-id (exit 1)', async () => {
    const r = await sb.dx(['beads-gate', '--write-probe', '--json']);
    expect(r.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(r.stdout)).error.reason_code).toBe('probe_id_required');
  });
});

/** Runs only where the real bd binary is installed (it cannot be installed on this machine kind). */
const realBd = findExecutable('bd', { PATH: process.env.PATH });
describe.skipIf(!realBd)('beads-gate against the real bd on PATH', () => {
  it('passes with a fresh database and a probe issue', async () => {
    const home = fs.mkdtempSync(path.join(sb.dir, 'realbd-'));
    const repo = path.join(home, 'bd');
    fs.mkdirSync(repo);
    git(repo, 'init', '-q');
    git(repo, 'remote', 'add', 'origin', 'git@github.com:stars-end/bd.git');
    const env = { ...process.env, HOME: home, BD_NON_INTERACTIVE: '1', CI: 'true' };
    expect(spawnSync(realBd!, ['init', '--quiet', '-p', 'bd'], { cwd: repo, env }).status).toBe(0);
    const id = execFileSync(realBd!, ['create', 'gate probe', '--silent'], { cwd: repo, env, encoding: 'utf8' }).trim();
    const r = await sb.dx(['beads-gate', '--probe-id', id, '--write-probe', '--json'], {
      env: { PATH: process.env.PATH, HOME: home, BEADS_REPO_PATH: repo },
    });
    expect(BeadsGateOutputSchema.parse(JSON.parse(r.stdout))).toMatchObject({ passed: true, reason_code: 'beads_ok' });
  });
});
