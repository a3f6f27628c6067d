/**
 * The release as an operator installs it: `npm run release`'s script packs the toolkit, npm installs
 * it into a temporary prefix with a temporary HOME and an empty cache, offline (everything is
 * bundled), and the installed bins run from outside the repository; then it is uninstalled and
 * nothing is left in the prefix.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckOutputSchema, PreflightOutputSchema, VersionOutputSchema } from '@dx/core';
import { NightReportSchema } from '@dx/nightly-dispatch';
import { BD_STUB_DIR, REPO_ROOT } from '../helpers/paths.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let dir: string;
let prefix: string;
let home: string;
let agents: string;
let env: NodeJS.ProcessEnv;
const bin = (name: string) => path.join(prefix, 'bin', name);
let tarball = '';

function run(command: string, args: string[], extra: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(command, args, { cwd: dir, env: { ...env, ...extra }, encoding: 'utf8', timeout: 240_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-release-e2e-')));
  prefix = path.join(dir, 'prefix');
  home = path.join(dir, 'home');
  agents = path.join(dir, 'agents');
  env = {
    PATH: `${path.join(prefix, 'bin')}:${BD_STUB_DIR}:${process.env.PATH}`,
    HOME: home,
    LANG: 'C.UTF-8',
    TMPDIR: dir,
    npm_config_cache: path.join(dir, 'npm-cache'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    DX_RUNNER_EXTRA_ALLOWED_PREFIXES: agents,
  };
  fs.mkdirSync(home, { recursive: true });
  fs.mkdirSync(agents, { recursive: true });
  const out = path.join(dir, 'release');
  const packed = run(process.execPath, [path.join(REPO_ROOT, 'scripts', 'release.mjs'), '--out', out]);
  if (packed.code !== 0) throw new Error(`release failed: ${packed.stderr}`);
  tarball = path.join(out, JSON.parse(fs.readFileSync(path.join(out, 'release.json'), 'utf8')).tarball);
  const installed = run('npm', ['install', '-g', '--offline', '--prefix', prefix, tarball]);
  if (installed.code !== 0) throw new Error(`npm install -g failed: ${installed.stderr}`);
}, 600_000);

afterAll(() => {
  // the simulated job is finished by then; nothing of ours keeps running
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('the packed release, installed with npm install -g', () => {
  it('puts every bin on PATH and reports its versions and contract version', () => {
    for (const name of ['dx-runner', 'dx-batch', 'dx-dispatch', 'cc-glm-job', 'cc-glm-job.sh', 'nightly-dispatch'])
      expect(fs.existsSync(bin(name)), name).toBe(true);
    const r = run(bin('dx-runner'), ['--version', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = VersionOutputSchema.parse(JSON.parse(r.stdout));
    expect(v.name).toBe('@dx/cli');
    expect(v.json_contract_version).toBeGreaterThanOrEqual(1);
    expect(v.plugins.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        '@dx/provider-opencode',
        '@dx/provider-cc-glm',
        '@dx/provider-gemini',
        '@dx/provider-sim',
      ]),
    );
    // it runs the installed copy, not the checkout
    expect(v.root.startsWith(prefix)).toBe(true);
  });

  it('runs preflight and a simulated job from outside the repository', () => {
    const pre = run(bin('dx-runner'), ['preflight', '--provider', 'sim', '--json']);
    expect(PreflightOutputSchema.parse(JSON.parse(pre.stdout)).ok).toBe(true);
    const repo = path.join(agents, 'bd-rel', 'repo');
    fs.mkdirSync(repo, { recursive: true });
    execFileSync('git', ['init', '-q', repo]);
    expect(run(bin('dx-runner'), ['start', '--beads', 'bd-rel', '--provider', 'sim', '--worktree', repo]).code).toBe(0);
    expect(run(bin('dx-runner'), ['wait', 'bd-rel', '--timeout', '60']).code).toBe(0);
    const view = CheckOutputSchema.parse(JSON.parse(run(bin('dx-runner'), ['check', 'bd-rel', '--json']).stdout));
    expect(view).toMatchObject({ state: 'exited_ok', selected_model: 'sim:success' });
  });

  it('offers shell completion for bash and zsh, with the recorded beads ids', () => {
    const registers = { bash: /^complete -o default -F \S+ dx-runner$/m, zsh: /^compdef \S+ dx-runner$/m };
    for (const [shell, registration] of Object.entries(registers)) {
      const r = run(bin('dx-runner'), ['completion', shell]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(registration);
    }
    // the job of the test above is a beads id the installed completion offers
    expect(run(bin('dx-runner'), ['completion', 'beads-ids']).stdout.split('\n')).toContain('bd-rel');
  });

  it('runs dx-batch and a nightly dry run with the bd stub', () => {
    expect(run(bin('dx-batch'), ['--help']).stdout).toMatch(/implement→review/);
    const ws = path.join(dir, 'workspace');
    fs.mkdirSync(ws, { recursive: true });
    execFileSync(path.join(BD_STUB_DIR, 'bd'), ['init', '-p', 'bd'], { cwd: ws });
    const beads = { BEADS_DIR: path.join(ws, '.beads') };
    execFileSync(path.join(BD_STUB_DIR, 'bd'), ['create', 'Fix it', '--id', 'bd-n1', '-p', '1', '--silent'], {
      cwd: ws,
      env: { ...env, ...beads },
    });
    const night = run(bin('nightly-dispatch'), ['run', '--dry-run', '--json'], {
      ...beads,
      DX_RUNNER_SIMULATE: 'opencode=success',
    });
    const report = NightReportSchema.parse(JSON.parse(night.stdout));
    expect(report.dry_run).toBe(true);
    expect(report.items.map((i) => i.beads_id)).toEqual(['bd-n1']);
  });

  it('uninstalls without leaving anything in the prefix', () => {
    const r = run('npm', ['uninstall', '-g', '--offline', '--prefix', prefix, 'dx-runner-toolkit']);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(path.join(prefix, 'bin'))).toEqual([]);
    expect(fs.readdirSync(path.join(prefix, 'lib', 'node_modules'))).toEqual([]);
  });
});
