import { describe, expect, it } from 'vitest';
import { isSecretEnvName, Redactor } from './redact.js';

describe('Redactor', () => {
  it('recognises secrets by the env var that holds them, not paths or modes', () => {
    for (const n of [
      'ZHIPU_API_KEY',
      'ANTHROPIC_AUTH_TOKEN',
      'GEMINI_API_KEY',
      'CC_GLM_AUTH_TOKEN',
      'SLACK_WEBHOOK_URL',
      'DB_PASSWORD',
      'GITHUB_TOKEN',
    ]) {
      expect(isSecretEnvName(n), n).toBe(true);
    }
    for (const n of ['CC_GLM_TOKEN_FILE', 'PATH', 'HOME', 'CC_GLM_TIMEOUT_MS', 'GEMINI_MODEL'])
      expect(isSecretEnvName(n), n).toBe(false);
  });

  it('scrubs every occurrence, longest first, and leaves short or non-secret values alone', () => {
    const r = Redactor.fromEnv([
      { ZHIPU_API_KEY: 'abcdefgh12345678', OTHER_TOKEN: 'abcdefgh', SHORT_KEY: 'abc', MODEL: 'glm-5-long-name' },
    ]);
    expect(r.redact('k=abcdefgh12345678 and abcdefgh, abc, glm-5-long-name')).toBe(
      'k=[REDACTED] and [REDACTED], abc, glm-5-long-name',
    );
  });

  it('scrubs well-known token shapes even without an env var', () => {
    const r = new Redactor([]);
    expect(r.redact('Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345')).toBe('Authorization: Bearer [REDACTED]');
    expect(r.redact('key sk-ant-api03-AAAAAAAAAAAAAAAAAAAAAAAA end')).toBe('key [REDACTED] end');
    expect(r.redact('origin\thttps://oauth2:glpat-AbCdEfGhIjKlMnOpQrSt@gitlab.example.com/g/r.git (fetch)')).toBe(
      'origin\thttps://oauth2:[REDACTED]@gitlab.example.com/g/r.git (fetch)',
    );
    expect(r.redact('DATABASE_URL=postgres://app:s3cr3t-pw@db:5432/app redis://:pw@cache:6379')).toBe(
      'DATABASE_URL=postgres://app:[REDACTED]@db:5432/app redis://:[REDACTED]@cache:6379',
    );
    expect(r.redact('token github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123')).toBe('token [REDACTED]');
    expect(r.redact('//registry.npmjs.org/:_authToken=npm_abcdefghijklmnopqrstuvwxyz0123456789')).toBe(
      '//registry.npmjs.org/:_authToken=[REDACTED]',
    );
    expect(r.redact('> Authorization: Basic b3A6czNjcjN0LXB3')).toBe('> Authorization: Basic [REDACTED]');
    expect(r.redact('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toBe(
      'aws_secret_access_key = [REDACTED]',
    );
    expect(r.redact('{"AccessKeyId": "AKIAX", "SecretAccessKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}')).toBe(
      '{"AccessKeyId": "AKIAX", "SecretAccessKey": "[REDACTED]"}',
    );
    // a user without a password, a port, an address: nothing to hide
    for (const plain of ['ssh://git@github.com:22/o/r.git', 'http://localhost:8080/a@b', 'mail me at a@b.example'])
      expect(r.redact(plain)).toBe(plain);
  });

  it('redacts deep inside JSON values, keeping keys', () => {
    const r = new Redactor(['supersecretvalue']);
    expect(r.redactDeep({ a: ['x supersecretvalue'], b: { supersecretvalue: 1, c: 'supersecretvalue' } })).toEqual({
      a: ['x [REDACTED]'],
      b: { supersecretvalue: 1, c: '[REDACTED]' },
    });
  });
});
