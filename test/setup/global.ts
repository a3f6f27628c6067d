import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { CLI_BIN, FAKE_PROVIDER_DIR } from '../helpers/paths.js';
import { CLI_BIN_DIR, ensureRealClis } from '../helpers/real-clis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pluginDataDir: string;
    /** PATH entry holding the pinned opencode, claude and gemini binaries; '' when DX_SKIP_REAL_CLIS=1. */
    realCliBin: string;
  }
}

/**
 * Once per run: check the built CLI exists and link the test-only `fake` provider plugin into a
 * private oclif data dir (the way a user would: `dx-runner plugins link`), offline.
 */
export default function setup(project: TestProject): () => void {
  if (
    !fs.existsSync(CLI_BIN) ||
    !fs.existsSync(path.join(path.dirname(CLI_BIN), '..', 'dist', 'commands', 'start.js'))
  ) {
    throw new Error('the CLI is not built: run `npm test` (it runs tsc -b first)');
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-e2e-plugins-'));
  const linked = spawnSync(process.execPath, [CLI_BIN, 'plugins', 'link', FAKE_PROVIDER_DIR, '--no-install'], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DX_RUNNER_DATA_DIR: dataDir,
      HOME: dataDir,
      OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
    },
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (linked.status !== 0) throw new Error(`plugins link failed: ${linked.stderr}`);
  project.provide('pluginDataDir', dataDir);
  // DX_SKIP_REAL_CLIS=1 is for quick local iterations only; CI always installs and runs them.
  if (process.env.DX_SKIP_REAL_CLIS === '1' && process.env.CI !== 'true') {
    project.provide('realCliBin', '');
  } else {
    ensureRealClis();
    project.provide('realCliBin', CLI_BIN_DIR);
  }
  return () => fs.rmSync(dataDir, { recursive: true, force: true });
}
