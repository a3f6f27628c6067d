import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

const KEY = 'zk-test-SECRET-0123456789abcdefXYZ';
const TOKEN_IN_FILE = 'tokfile-7f3a9c2e5b1d4086';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox({ ZHIPU_API_KEY: KEY });
});
afterEach(async () => {
  await sb.cleanup();
});

function grepTree(dir: string, needle: string): string[] {
  try {
    return execFileSync('grep', ['-rl', '--', needle, dir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

describe('API keys and tokens never reach logs, outcomes, reports or JSON', () => {
  it('redacts a key from the environment and a provider-declared token everywhere dx-runner writes', async () => {
    const tokenFile = path.join(sb.dir, 'token');
    fs.writeFileSync(tokenFile, `${TOKEN_IN_FILE}\n`, { mode: 0o600 });
    const wt = sb.worktree('bd-secret');
    const prompt = sb.prompt({
      steps: [
        { print_env: 'ZHIPU_API_KEY' },
        { print_env: 'FAKE_AGENT_LOGIN' },
        { write: 'out.txt', content: 'work\n' },
        { result: 'finished; my key is ${env:ZHIPU_API_KEY}' },
        {
          error: {
            class: 'auth_invalid',
            reason: 'fake_auth_invalid',
            text: '401 for key ${env:ZHIPU_API_KEY} / ${env:FAKE_AGENT_LOGIN}',
          },
        },
        { exit: 1 },
      ],
    });
    const env = { FAKE_TOKEN_FILE: tokenFile };
    const start = await sb.dx(
      ['start', '--beads', 'bd-secret', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt, '--json'],
      { env },
    );
    expect(start.code).toBe(0);
    await waitFor(async () => (await sb.dx(['check', '--beads', 'bd-secret'])).code === 3, 'job ended');

    // the agent really saw both secrets (so redaction, not absence, is what keeps them out)
    const log = fs.readFileSync(path.join(sb.state, 'fake', 'bd-secret.log'), 'utf8');
    expect(log).toContain('env ZHIPU_API_KEY=[REDACTED]');
    expect(log).toContain('env FAKE_AGENT_LOGIN=[REDACTED]');
    expect(log).toContain('401 for key [REDACTED] / [REDACTED]');

    const outputs = [
      start,
      await sb.dx(['status', '--recent', '5', '--json']),
      await sb.dx(['status', '--recent', '5']),
      await sb.dx(['check', '--beads', 'bd-secret', '--json']),
      await sb.dx(['report', '--beads', 'bd-secret', '--format', 'json']),
      await sb.dx(['report', '--beads', 'bd-secret', '--format', 'markdown']),
      await sb.dx(['report', '--format', 'markdown']),
      await sb.dx(['logs', '--beads', 'bd-secret', '--lines', '100']),
      await sb.dx(['logs', '--beads', 'bd-secret', '--lines', '100', '--json']),
    ];
    for (const out of outputs) {
      expect(out.stdout + out.stderr).not.toContain(KEY);
      expect(out.stdout + out.stderr).not.toContain(TOKEN_IN_FILE);
    }
    expect(outputs[4].stdout).toContain('[REDACTED]');
    expect(grepTree(sb.state, KEY)).toEqual([]);
    expect(grepTree(sb.state, TOKEN_IN_FILE)).toEqual([]);
  });

  it('a password in a URL (a git remote with a token, DATABASE_URL) stays out of what dx-runner writes', async () => {
    const remoteToken = 'glpat-Remote0Token1Value2xyz';
    const dbPassword = 'db-pw-8c1f0e2a77';
    const basic = Buffer.from('op:basic-pw-5521').toString('base64');
    const awsSecret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYzz9EXAMPLE';
    const wt = sb.worktree('bd-url-secret');
    execFileSync('git', [
      '-C',
      wt,
      'remote',
      'add',
      'origin',
      `https://oauth2:${remoteToken}@gitlab.example.com/g/r.git`,
    ]);
    const prompt = sb.prompt({
      steps: [
        { run: ['git', 'remote', '-v'] },
        { print_env: 'DATABASE_URL' },
        // what `curl -v -u` prints of its request, and a cat of an AWS credentials file (from the
        // environment: a secret written in the prompt is the operator's own text, kept in its copy)
        {
          run: [
            'sh',
            '-c',
            'echo "> Authorization: Basic $X_HEADER"; printf "[default]\\naws_secret_access_key = %s\\n" "$X_AWS"',
          ],
        },
        { write: 'out.txt', content: 'work\n' },
        { result: 'pushed to ${env:DATABASE_URL}' },
        { exit: 0 },
      ],
    });
    // names no secret-like pattern marks: the values' shapes are what gives them away
    const env = { DATABASE_URL: `postgres://app:${dbPassword}@127.0.0.1:5432/app`, X_HEADER: basic, X_AWS: awsSecret };
    const start = await sb.dx(
      ['start', '--beads', 'bd-url-secret', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt],
      { env },
    );
    expect(start.code, start.stderr).toBe(0);
    await waitFor(
      async () =>
        (await sb.dx(['check', '--beads', 'bd-url-secret'])).code === 0 &&
        fs.existsSync(path.join(sb.state, 'fake', 'bd-url-secret.outcome')),
      'job ended',
    );
    const log = fs.readFileSync(path.join(sb.state, 'fake', 'bd-url-secret.log'), 'utf8');
    // the agent saw both (redaction, not absence, keeps them out)
    expect(log).toContain('https://oauth2:[REDACTED]@gitlab.example.com/g/r.git');
    expect(log).toContain('env DATABASE_URL=postgres://app:[REDACTED]@127.0.0.1:5432/app');
    const outputs = [
      await sb.dx(['report', '--beads', 'bd-url-secret', '--format', 'json']),
      await sb.dx(['report', '--beads', 'bd-url-secret', '--format', 'markdown']),
      await sb.dx(['logs', '--beads', 'bd-url-secret', '--lines', '100', '--json']),
    ];
    expect(log).toContain('> Authorization: Basic [REDACTED]');
    expect(log).toContain('aws_secret_access_key = [REDACTED]');
    for (const secret of [remoteToken, dbPassword, basic, awsSecret]) {
      for (const out of outputs) expect(out.stdout + out.stderr).not.toContain(secret);
      expect(grepTree(sb.state, secret)).toEqual([]);
    }
  });

  it('scrubs a key from error messages of refused commands', async () => {
    const r = await sb.dx([
      'start',
      '--beads',
      'bd-x',
      '--provider',
      'fake',
      '--prompt-file',
      path.join(sb.dir, `${KEY}.prompt`),
      '--worktree',
      sb.worktree('bd-x'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('prompt file not found');
    expect(r.stderr).not.toContain(KEY);
  });
});
