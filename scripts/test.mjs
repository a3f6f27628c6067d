#!/usr/bin/env node
/**
 * `npm test`: build (tsc -b), lint (eslint, prettier --check), run every vitest project once, and print the plain
 * `N passed, N failed` line CI looks for. Extra arguments go to vitest.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);

const build = spawnSync(bin('tsc'), ['-b'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed (build failed: tsc -b)');
  process.exit(build.status ?? 1);
}
// the core bundle and the oclif manifests are built from the fresh dist (stale ones would run old code)
const postbuild = spawnSync(process.execPath, [path.join(root, 'scripts', 'postbuild.mjs')], {
  cwd: root,
  stdio: 'inherit',
});
if (postbuild.status !== 0) {
  console.log('0 passed, 1 failed (build failed: scripts/postbuild.mjs)');
  process.exit(postbuild.status ?? 1);
}

// lint and format before the tests: a finding fails the run like a failing test
for (const [name, args] of [
  ['eslint', ['.', '--max-warnings', '0']],
  ['prettier', ['--check', '.', '--log-level', 'warn']],
]) {
  const check = spawnSync(bin(name), args, { cwd: root, stdio: 'inherit' });
  if (check.status !== 0) {
    console.log(
      `0 passed, 1 failed (${name}: fix the findings above${name === 'prettier' ? ', e.g. npx prettier --write .' : ''})`,
    );
    process.exit(check.status ?? 1);
  }
}

const report = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-vitest-')), 'results.json');
const run = spawnSync(
  bin('vitest'),
  ['run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...process.argv.slice(2)],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
let passed = 0;
let failed;
try {
  const results = JSON.parse(fs.readFileSync(report, 'utf8'));
  passed = results.numPassedTests;
  failed = results.numFailedTests + (results.numRuntimeErrorTestSuites ?? 0);
  if (run.status !== 0 && failed === 0) failed = 1;
} catch {
  failed = 1;
}
fs.rmSync(path.dirname(report), { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed`);
process.exit(run.status ?? 1);
