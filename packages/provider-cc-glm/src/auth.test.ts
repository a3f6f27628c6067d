import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { coreServices } from '@dx/core';
import { resolveToken } from './auth.js';

const resolveToken_ = (env: NodeJS.ProcessEnv) => resolveToken(env, coreServices.readOperatorFile);

describe('cc-glm token precedence', () => {
  it('prefers CC_GLM_AUTH_TOKEN, then CC_GLM_TOKEN_FILE, then ZAI_API_KEY', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccglm-'));
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, ' from-file \n');
    expect(resolveToken_({ CC_GLM_AUTH_TOKEN: 'direct', CC_GLM_TOKEN_FILE: file, ZAI_API_KEY: 'zai' })).toEqual({
      token: 'direct',
      source: 'CC_GLM_AUTH_TOKEN',
    });
    expect(resolveToken_({ CC_GLM_TOKEN_FILE: file, ZAI_API_KEY: 'zai' })).toEqual({
      token: 'from-file',
      source: 'CC_GLM_TOKEN_FILE',
    });
    expect(resolveToken_({ ZAI_API_KEY: 'zai' })).toEqual({ token: 'zai', source: 'ZAI_API_KEY' });
    fs.rmSync(dir, { recursive: true });
  });

  it('explains a token file that is missing or empty, and an unresolved op:// reference, without a token', () => {
    expect(resolveToken_({ CC_GLM_TOKEN_FILE: '/nonexistent/token' })).toMatchObject({
      problem: 'CC_GLM_TOKEN_FILE /nonexistent/token: no such file',
    });
    expect(resolveToken_({ ZAI_API_KEY: 'op://dev/x/ZAI_API_KEY' }).token).toBeUndefined();
    expect(resolveToken_({}).problem).toContain('CC_GLM_AUTH_TOKEN');
  });

  it('never blocks on a token file: a FIFO nobody writes to reads as empty, a device is refused', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccglm-'));
    try {
      const fifo = path.join(dir, 'token.fifo');
      execFileSync('mkfifo', [fifo]);
      expect(resolveToken_({ CC_GLM_TOKEN_FILE: fifo })).toEqual({
        source: 'CC_GLM_TOKEN_FILE',
        problem: `CC_GLM_TOKEN_FILE ${fifo} is empty`,
      });
      expect(resolveToken_({ CC_GLM_TOKEN_FILE: '/dev/zero' })).toEqual({
        source: 'CC_GLM_TOKEN_FILE',
        problem: 'CC_GLM_TOKEN_FILE /dev/zero: not a file or a pipe',
      });
      // a regular file is read again each time (a token rotated between two commands is seen)
      const file = path.join(dir, 'token');
      fs.writeFileSync(file, 'first\n');
      expect(resolveToken_({ CC_GLM_TOKEN_FILE: file }).token).toBe('first');
      fs.writeFileSync(file, 'second\n');
      expect(resolveToken_({ CC_GLM_TOKEN_FILE: file }).token).toBe('second');
    } finally {
      fs.rmSync(dir, { recursive: true });
    }
  });
});
