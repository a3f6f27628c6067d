import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_BIN = path.join(REPO_ROOT, 'packages', 'cli', 'bin', 'run.js');
export const BATCH_BIN = path.join(REPO_ROOT, 'packages', 'dx-batch', 'bin', 'run.js');
export const DISPATCH_BIN = path.join(REPO_ROOT, 'packages', 'dx-dispatch-shim', 'bin', 'dx-dispatch.js');
export const CC_GLM_JOB_BIN = path.join(REPO_ROOT, 'packages', 'dx-dispatch-shim', 'bin', 'cc-glm-job.js');
export const NIGHTLY_BIN = path.join(REPO_ROOT, 'packages', 'nightly-dispatch', 'bin', 'run.js');
export const FAKE_PROVIDER_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'provider-fake');
export const FAKE_AGENT = path.join(REPO_ROOT, 'test', 'fixtures', 'fake-agent.mjs');
export const BD_STUB_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'bd-stub');

/**
 * Debian's libfaketime (package `faketime`, installed by .ci/run): preloaded into a dx-runner, it
 * gives that dx-runner, its watchers and agents a clock of their own, as a fleet host that does not
 * sync time has. Found under the machine's multiarch directory.
 */
export const LIBFAKETIME =
  ['x86_64-linux-gnu', 'aarch64-linux-gnu']
    .map((arch) => `/usr/lib/${arch}/faketime/libfaketime.so.1`)
    .find((file) => fs.existsSync(file)) ?? '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

/** The environment that sets a process's wall clock `offset` off this machine's (e.g. `-30s`). */
export function skewedClockEnv(offset: string): Record<string, string> {
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' };
}
