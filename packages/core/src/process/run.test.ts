import { describe, expect, it } from 'vitest';
import { runChild } from './run.js';

describe('running a command for its output', () => {
  it('a character split between two reads of the pipe arrives whole, on stdout and stderr', async () => {
    // the first byte of 修 alone, then the rest a moment later: two reads of each pipe
    const script = `
      const [a, b] = [Buffer.from('修复', 'utf8').subarray(0, 1), Buffer.from('修复', 'utf8').subarray(1)];
      process.stdout.write(a); process.stderr.write(a);
      setTimeout(() => { process.stdout.write(b); process.stderr.write(b); }, 200);`;
    const run = await runChild(process.execPath, ['-e', script], { timeoutMs: 30_000 });
    expect(run).toMatchObject({ outcome: 'exited', code: 0, stdout: '修复', stderr: '修复' });
  });
});
