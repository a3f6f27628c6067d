import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkBinary } from './services.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-binary-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
function tool(name: string, script: string): void {
  fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
}
const options = (name: string) => ({
  name,
  env: { PATH: `${dir}:/usr/bin:/bin` },
  runEnv: { PATH: '/usr/bin:/bin', HOME: dir },
  timeoutMs: 10_000,
  installHint: 'npm install -g some-cli@1.2.3',
  reasonCode: 'some_binary_missing',
});

describe("preflight's binary check (shared by the providers)", () => {
  it('finds the CLI on PATH and reports its version', async () => {
    tool('some-cli', 'echo "some-cli 1.2.3 (build 7)"');
    expect(await checkBinary(options('some-cli'))).toEqual({
      path: path.join(dir, 'some-cli'),
      version: 'some-cli 1.2.3 (build 7)',
      check: { name: 'binary', status: 'ok', detail: `${path.join(dir, 'some-cli')} some-cli 1.2.3 (build 7)` },
    });
  });

  it('a missing CLI names how to install it; a CLI whose --version fails quotes its error', async () => {
    const missing = await checkBinary(options('absent-cli'));
    expect(missing.path).toBeUndefined();
    expect(missing.check).toEqual({
      name: 'binary',
      status: 'fail',
      detail: 'absent-cli not found on PATH (npm install -g some-cli@1.2.3)',
      reasonCode: 'some_binary_missing',
      failureClass: 'binary_missing',
    });
    tool('broken-cli', 'echo "Error: cannot find module ./dist/cli.js" >&2\nexit 1');
    const broken = await checkBinary(options('broken-cli'));
    expect(broken.path).toBe(path.join(dir, 'broken-cli'));
    expect(broken.check).toMatchObject({
      status: 'fail',
      detail: `${path.join(dir, 'broken-cli')} --version failed: Error: cannot find module ./dist/cli.js`,
      reasonCode: 'some_binary_missing',
      failureClass: 'binary_missing',
    });
  });
});
