import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { secretsInSettingsFiles } from './settings-files.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-settings-secrets-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const at = path.join(dir, name);
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.writeFileSync(at, text);
  return at;
}

describe('credentials in the settings files the agent is pointed at', () => {
  it('reads npm tokens and passwords, not ${VAR} references or other settings', () => {
    const npmrc = file(
      '.npmrc',
      [
        'registry=https://registry.example.com/',
        '//registry.example.com/:_authToken=npm_token_value_1234',
        '//other.example.com/:_authToken=${NPM_TOKEN}',
        '_auth = "dXNlcjpwYXNzd29yZA=="',
        '//legacy.example.com/:_password=cGFzc3dvcmQxMjM0',
        'always-auth=true',
      ].join('\n'),
    );
    expect(secretsInSettingsFiles({ npm_config_userconfig: npmrc })).toEqual([
      'npm_token_value_1234',
      'dXNlcjpwYXNzd29yZA==',
      'cGFzc3dvcmQxMjM0',
    ]);
  });

  it('reads the password of a URL with credentials in pip, uv and go settings', () => {
    const pip = file('pip.conf', '[global]\nindex-url = https://op:pip-password-1@pypi.example.com/simple\n');
    const uv = {
      path: '/job/home/.config/uv/uv.toml',
      content: '[[index]]\nurl = "https://op:uv-password-2@pypi.example.com/simple"\n',
    };
    const go = file('go/env', 'GOPROXY=https://op:go-password-3@proxy.example.com,direct\n');
    expect(secretsInSettingsFiles({ PIP_CONFIG_FILE: pip, GOENV: go }, [uv])).toEqual([
      'uv-password-2',
      'pip-password-1',
      'go-password-3',
    ]);
  });

  it("reads poetry's and cargo's stored credentials", () => {
    file('pypoetry/auth.toml', '[http-basic.private]\nusername = "op"\npassword = "poetry-password-4"\n');
    file('cargo/credentials.toml', '[registry]\ntoken = "cargo-token-5678"\n');
    expect(
      secretsInSettingsFiles({ POETRY_CONFIG_DIR: path.join(dir, 'pypoetry'), CARGO_HOME: path.join(dir, 'cargo') }),
    ).toEqual(['poetry-password-4', 'cargo-token-5678']);
  });

  it('reads the tokens gh and glab keep in their config dirs', () => {
    file(
      'gh/hosts.yml',
      'github.com:\n    users:\n        op:\n            oauth_token: ghe-style-token-0123\n    git_protocol: https\n    oauth_token: ghe-style-token-0123\n    user: op\n',
    );
    file('glab-cli/config.yml', 'hosts:\n  gitlab.example.com:\n    token: glab-token-4567\n    api_protocol: https\n');
    expect(
      secretsInSettingsFiles({ GH_CONFIG_DIR: path.join(dir, 'gh'), GLAB_CONFIG_DIR: path.join(dir, 'glab-cli') }),
    ).toEqual(['ghe-style-token-0123', 'ghe-style-token-0123', 'glab-token-4567']);
  });

  it("reads yarn's tokens in the copy of ~/.yarnrc.yml the job writes into the agent's HOME", () => {
    const yarnrc = [
      'npmRegistryServer: "https://registry.example.com"',
      'npmAuthToken: "yarn-token-value-1234"',
      'npmScopes:',
      '  private:',
      '    npmAuthIdent: op:yarn-ident-5678',
      '    npmAuthToken: "${YARN_TOKEN}"',
    ].join('\n');
    expect(secretsInSettingsFiles({}, [{ path: '/job/home/.yarnrc.yml', content: yarnrc }])).toEqual([
      'yarn-token-value-1234',
      'op:yarn-ident-5678',
    ]);
  });

  it("reads bundler's credentials for a gem server, whole and their password alone", () => {
    const config = file(
      '.bundle/config',
      '---\nBUNDLE_PATH: "vendor/bundle"\nBUNDLE_GEMS__EXAMPLE__COM: "op:bundler-password-9"\n',
    );
    expect(secretsInSettingsFiles({ BUNDLE_USER_CONFIG: config })).toEqual([
      'op:bundler-password-9',
      'bundler-password-9',
    ]);
  });

  it('names nothing when the files are not there', () => {
    expect(secretsInSettingsFiles({ NPM_CONFIG_USERCONFIG: path.join(dir, 'none'), CARGO_HOME: dir })).toEqual([]);
  });
});
