import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { operatorHomes } from './agent-env.js';

let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-agent-env-'));
});
afterEach(() => fs.rmSync(home, { recursive: true, force: true }));

const env = (extra: Record<string, string> = {}) => ({ HOME: home, DX_RUNNER_STATE_DIR: '/state', ...extra });
const make = (...parts: string[]) => fs.mkdirSync(path.join(home, ...parts), { recursive: true });

describe("the operator's homes the agent's tools are pointed at", () => {
  it("pip's legacy ~/.pip/pip.conf when there is no XDG one, the XDG one first", () => {
    make('.pip');
    fs.writeFileSync(path.join(home, '.pip', 'pip.conf'), '[global]\n');
    expect(operatorHomes(env()).PIP_CONFIG_FILE).toBe(path.join(home, '.pip', 'pip.conf'));
    make('.config', 'pip');
    fs.writeFileSync(path.join(home, '.config', 'pip', 'pip.conf'), '[global]\n');
    expect(operatorHomes(env()).PIP_CONFIG_FILE).toBe(path.join(home, '.config', 'pip', 'pip.conf'));
  });

  it('a python user base only when pip --user put packages there, not for the XDG dirs under ~/.local', () => {
    make('.local', 'share');
    make('.local', 'state');
    expect(operatorHomes(env()).PYTHONUSERBASE).toBeUndefined();
    make('.local', 'lib', 'python3.11', 'site-packages');
    expect(operatorHomes(env()).PYTHONUSERBASE).toBe(path.join(home, '.local'));
  });

  it("the operator's own setting wins, and nothing is named for a tool that is not there", () => {
    make('.rbenv');
    make('.asdf');
    make('.bundle');
    fs.writeFileSync(path.join(home, '.bundle', 'config'), '---\n');
    const homes = operatorHomes(env({ RBENV_ROOT: '/opt/rbenv' }));
    expect(homes.RBENV_ROOT).toBeUndefined();
    expect(homes.ASDF_DATA_DIR).toBe(path.join(home, '.asdf'));
    expect(homes.BUNDLE_USER_CONFIG).toBe(path.join(home, '.bundle', 'config'));
    expect(homes.VOLTA_HOME).toBeUndefined();
  });

  it("download caches that exist, unless the operator's settings name another place", () => {
    make('.npm');
    make('.cache', 'pip');
    make('.cache', 'go-build');
    make('.cache', 'uv');
    expect(operatorHomes(env())).toMatchObject({
      NPM_CONFIG_CACHE: path.join(home, '.npm'),
      PIP_CACHE_DIR: path.join(home, '.cache', 'pip'),
      GOCACHE: path.join(home, '.cache', 'go-build'),
      UV_CACHE_DIR: path.join(home, '.cache', 'uv'),
    });
    // the variable would override the operator's own setting: then it is not set
    fs.writeFileSync(path.join(home, '.npmrc'), 'registry=https://registry.example.com/\ncache = /srv/npm-cache\n');
    make('.config', 'pip');
    fs.writeFileSync(path.join(home, '.config', 'pip', 'pip.conf'), '[global]\ncache-dir = /srv/pip-cache\n');
    make('.config', 'go');
    fs.writeFileSync(path.join(home, '.config', 'go', 'env'), 'GOCACHE=/srv/go-cache\n');
    make('.config', 'uv');
    fs.writeFileSync(path.join(home, '.config', 'uv', 'uv.toml'), 'cache-dir = "/srv/uv-cache"\n');
    const homes = operatorHomes(env());
    for (const variable of ['NPM_CONFIG_CACHE', 'PIP_CACHE_DIR', 'GOCACHE', 'UV_CACHE_DIR'])
      expect(homes[variable], variable).toBeUndefined();
    // nor where the operator's environment names one, or there is none
    fs.rmSync(path.join(home, '.npmrc'));
    expect(operatorHomes(env({ npm_config_cache: '/elsewhere' })).NPM_CONFIG_CACHE).toBeUndefined();
    fs.rmSync(path.join(home, '.npm'), { recursive: true });
    expect(operatorHomes(env()).NPM_CONFIG_CACHE).toBeUndefined();
  });
});
