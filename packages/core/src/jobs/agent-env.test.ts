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
});
