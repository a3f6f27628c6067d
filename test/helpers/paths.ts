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
