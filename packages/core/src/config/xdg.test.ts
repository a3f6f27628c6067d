import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stateRootPath } from '../state/root.js';
import { expandHome, homeDirectory, xdgDirectory } from './xdg.js';

describe('XDG base directories and the home', () => {
  it('takes absolute values as they are', () => {
    const env = { HOME: '/home/ann', XDG_STATE_HOME: '/var/state/ann' };
    expect(homeDirectory(env)).toBe('/home/ann');
    expect(xdgDirectory('XDG_STATE_HOME', '.local/state', env)).toBe('/var/state/ann');
    expect(stateRootPath(env)).toBe('/var/state/ann/dx-runner');
    expect(expandHome('~/agents', env)).toBe('/home/ann/agents');
  });

  it('ignores a relative XDG variable or HOME: a state root that moved with cwd would lose the jobs', () => {
    const env = { HOME: '/home/ann', XDG_STATE_HOME: 'state', XDG_CONFIG_HOME: './config' };
    expect(stateRootPath(env)).toBe('/home/ann/.local/state/dx-runner');
    expect(xdgDirectory('XDG_CONFIG_HOME', '.config', env)).toBe('/home/ann/.config');
    // a relative HOME is the account's home instead
    const account = os.userInfo().homedir;
    expect(path.isAbsolute(account)).toBe(true);
    expect(homeDirectory({ HOME: 'rel' })).toBe(account);
    expect(stateRootPath({ HOME: 'rel' })).toBe(path.join(account, '.local', 'state', 'dx-runner'));
    expect(expandHome('~', { HOME: '' })).toBe(account);
  });

  it('refuses a relative DX_RUNNER_STATE_DIR (cron and a shell would keep two ledgers); ~/… is the home’s', () => {
    expect(() => stateRootPath({ HOME: '/home/ann', DX_RUNNER_STATE_DIR: 'state' })).toThrow(
      /DX_RUNNER_STATE_DIR must be an absolute path .*got "state"/,
    );
    expect(() => stateRootPath({ DX_RUNNER_STATE_DIR: './state' })).toThrow(/must be an absolute path/);
    expect(stateRootPath({ HOME: '/home/ann', DX_RUNNER_STATE_DIR: '~/dx' })).toBe('/home/ann/dx');
    expect(stateRootPath({ DX_RUNNER_STATE_DIR: ' /srv/dx ' })).toBe('/srv/dx');
    expect(stateRootPath({ HOME: '/home/ann', DX_RUNNER_STATE_DIR: '  ' })).toBe('/home/ann/.local/state/dx-runner');
  });
});
