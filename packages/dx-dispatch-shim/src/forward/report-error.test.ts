import { describe, expect, it, vi } from 'vitest';
import { DxError, DxRunnerError } from '@dx/core';
import { reportError } from './forward.js';

const KEY = 'zai-0123456789abcdef';
const env = { ZAI_API_KEY: KEY };

function stderrOf(run: () => number): { code: number; lines: string[] } {
  let text = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    text += String(chunk);
    return true;
  });
  try {
    return { code: run(), lines: text.trimEnd().split('\n') };
  } finally {
    spy.mockRestore();
  }
}

describe("a shim's errors", () => {
  it('keep the exit code and reason of an error dx-runner or core named', () => {
    const core = new DxError('no such job', { exitCode: 1, reasonCode: 'job_not_found' });
    expect(stderrOf(() => reportError(core, env))).toEqual({
      code: 1,
      lines: ['Error: no such job (reason_code=job_not_found)'],
    });
    const runner = new DxRunnerError('locked', 23, 'locked', null, ['stop']);
    expect(stderrOf(() => reportError(runner, env)).code).toBe(23);
  });

  it('turn what no code foresaw into one redacted line: internal_error, exit 1, the stack only with DEBUG', () => {
    const unforeseen = new Error(`EACCES: permission denied, open '/tmp/${KEY}/x'\n    at somewhere`);
    const quiet = stderrOf(() => reportError(unforeseen, env));
    expect(quiet.code).toBe(1);
    expect(quiet.lines).toEqual([
      "Error: EACCES: permission denied, open '/tmp/[REDACTED]/x' at somewhere (reason_code=internal_error)",
    ]);
    const debug = stderrOf(() => reportError(unforeseen, { ...env, DEBUG: '1' }));
    expect(debug.lines.length).toBeGreaterThan(1);
    expect(debug.lines.join('\n')).toContain('report-error.test');
    expect(debug.lines.join('\n')).not.toContain(KEY);
  });
});
