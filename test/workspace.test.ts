import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.js';

describe('workspace hygiene', () => {
  it('nx sync leaves nothing to change (project references match package dependencies)', () => {
    const r = spawnSync(path.join(REPO_ROOT, 'node_modules', '.bin', 'nx'), ['sync:check'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, NX_NO_CLOUD: 'true', NX_DAEMON: 'false', CI: 'true' },
      timeout: 120_000,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
  }, 130_000);
});
