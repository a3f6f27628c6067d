import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveToken } from './auth.js';

describe('cc-glm token precedence', () => {
  it('prefers CC_GLM_AUTH_TOKEN, then CC_GLM_TOKEN_FILE, then ZAI_API_KEY', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ccglm-'));
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, ' from-file \n');
    expect(resolveToken({ CC_GLM_AUTH_TOKEN: 'direct', CC_GLM_TOKEN_FILE: file, ZAI_API_KEY: 'zai' })).toEqual({
      token: 'direct',
      source: 'CC_GLM_AUTH_TOKEN',
    });
    expect(resolveToken({ CC_GLM_TOKEN_FILE: file, ZAI_API_KEY: 'zai' })).toEqual({
      token: 'from-file',
      source: 'CC_GLM_TOKEN_FILE',
    });
    expect(resolveToken({ ZAI_API_KEY: 'zai' })).toEqual({ token: 'zai', source: 'ZAI_API_KEY' });
    fs.rmSync(dir, { recursive: true });
  });

  it('explains a token file that is missing or empty, and an unresolved op:// reference, without a token', () => {
    expect(resolveToken({ CC_GLM_TOKEN_FILE: '/nonexistent/token' })).toMatchObject({
      problem: 'CC_GLM_TOKEN_FILE /nonexistent/token does not exist',
    });
    expect(resolveToken({ ZAI_API_KEY: 'op://dev/x/ZAI_API_KEY' }).token).toBeUndefined();
    expect(resolveToken({}).problem).toContain('CC_GLM_AUTH_TOKEN');
  });
});
