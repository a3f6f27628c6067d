import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy, sectionOf } from '@dx/core';
import { maxParallelAt, migrationStart, recordMigrationStart } from './config.js';
import { NIGHTLY_SECTION } from './policy.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let root: string;
beforeAll(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'nightly-config-'));
});
afterEach(() => fs.rmSync(path.join(root, 'migration-start'), { force: true }));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const nightly = sectionOf(loadPolicy({ env: {}, sections: [NIGHTLY_SECTION] }), NIGHTLY_SECTION);

describe('migration clock', () => {
  it('ships the documented default values', () => {
    expect(nightly).toMatchObject({
      providerChain: ['opencode', 'cc-glm', 'gemini'],
      ackTimeoutSec: 45,
      ackRetries: 1,
      maxParallel: 1,
      maxParallelPostMigration: 2,
      migrationHours: 48,
      alertRateLimitMinutes: 30,
    });
  });

  it('is 1 for the first 48 h after the recorded start, then 2', () => {
    const now = new Date('2026-11-24T12:00:00Z');
    expect(maxParallelAt(nightly, null, now)).toBe(1);
    expect(maxParallelAt(nightly, new Date(now.getTime() - 47 * 3_600_000).toISOString(), now)).toBe(1);
    expect(maxParallelAt(nightly, new Date(now.getTime() - 49 * 3_600_000).toISOString(), now)).toBe(2);
  });

  it('records the start once, only when asked, and treats an unreadable record as not recorded', () => {
    expect(migrationStart(root)).toBeNull();
    const first = recordMigrationStart(root, new Date('2026-11-20T00:00:00Z'));
    expect(first).toBe('2026-11-20T00:00:00.000Z');
    expect(recordMigrationStart(root, new Date('2026-11-24T00:00:00Z'))).toBe(first);
    expect(migrationStart(root)).toBe(first);
    fs.writeFileSync(path.join(root, 'migration-start'), 'garbage');
    expect(migrationStart(root)).toBeNull();
  });
});
