import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sanitizeForFileName, writeSecurePromptFile } from './secure-prompt.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-secure-prompt-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('secure prompt files', () => {
  it('sanitises ids to a safe file name', () => {
    expect(sanitizeForFileName('bd-123.456')).toBe('bd-123_456');
    expect(sanitizeForFileName('test/path')).toBe('test_path');
    expect(sanitizeForFileName('a'.repeat(100))).toBe('a'.repeat(50));
    expect(sanitizeForFileName('normal-id_123')).toBe('normal-id_123');
  });

  it('writes 0600 under an unpredictable name and removes it', () => {
    const a = writeSecurePromptFile('ndisp_', 'test-beads-123', 'fix it', dir);
    const b = writeSecurePromptFile('ndisp_', 'test-beads-123', 'fix it', dir);
    expect(path.basename(a.path)).toMatch(/^ndisp_test-beads-123_[A-Za-z0-9_-]{12}\.prompt$/);
    expect(a.path).not.toBe(b.path);
    expect(fs.readFileSync(a.path, 'utf8')).toBe('fix it');
    expect(fs.statSync(a.path).mode & 0o777).toBe(0o600);
    a.remove();
    a.remove();
    expect(fs.existsSync(a.path)).toBe(false);
    b.remove();
  });
});
