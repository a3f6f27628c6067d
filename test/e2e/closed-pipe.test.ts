import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BATCH_BIN, CC_GLM_JOB_BIN, CLI_BIN, DISPATCH_BIN, NIGHTLY_BIN } from '../helpers/paths.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';

/**
 * A reader that stops early (`dx-runner --help | head -1`, quitting `less`) closes the pipe under
 * the command's output. The command must still end at once with its own exit code: a script under
 * `set -o pipefail` reads that code, and 13 (what Node answered when oclif's final flush waited for
 * a drain that never came) is the code of no command.
 */
let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

/** Runs a bin whose stdout's reading end is closed before it writes anything. */
function withStdoutClosed(bin: string, args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: sb.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${args.join(' ')}: still running after 30 s with its output closed`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('output to a pipe its reader closed', () => {
  it.each([
    ['dx-runner', CLI_BIN],
    ['dx-batch', BATCH_BIN],
    ['nightly-dispatch', NIGHTLY_BIN],
    // the shims are plain scripts: without the same care Node printed a stack trace for the EPIPE
    ['dx-dispatch', DISPATCH_BIN],
    ['cc-glm-job', CC_GLM_JOB_BIN],
  ])('%s --help ends with 0, quietly', async (_, bin) => {
    const r = await withStdoutClosed(bin, ['--help']);
    expect(r).toEqual({ code: 0, stderr: '' });
  });

  it('a watchdog streaming its passes runs all of them when its reader has gone, and ends with 0', async () => {
    const r = await withStdoutClosed(CLI_BIN, ['watchdog', '--interval', '0.2', '--max-passes', '5', '--json']);
    expect(r).toEqual({ code: 0, stderr: '' });
  });

  it("a command's own exit code is kept (a job that is not there is still 1)", async () => {
    const r = await withStdoutClosed(CLI_BIN, ['check', 'bd-none', '--json']);
    expect(r).toEqual({ code: 1, stderr: '' });
  });
});
