import { describe, expect, it } from 'vitest';
import type { ProviderRuntime, ToolTranscriptReader } from '../providers/contract.js';
import { lastTestVerdict, runRecord } from './evidence.js';

const LOG = ['{"said":"npm test: 12 passed"}', 'TOOL npm test', 'TOOL Tests  3 passed (3)', 'TOOL boom'].join('\n');

function runtime(read: ToolTranscriptReader): ProviderRuntime {
  return {
    id: 'x',
    createParser: () => ({ parse: () => [] }),
    classifyFailure: () => ({ reasonCode: 'x', failureClass: 'crashed', summary: '' }),
    toolTranscript: () => read,
  };
}

describe('what the evidence gate judges runs on', () => {
  it('the tools’ output where the provider reads it, in order, without the agent’s words', () => {
    const read: ToolTranscriptReader = (line) => (line.startsWith('TOOL ') ? line.slice(5) : undefined);
    expect(runRecord(LOG, runtime(read))).toEqual({
      text: 'npm test\nTests  3 passed (3)\nboom',
      source: 'the tools’ output',
    });
  });

  it('the whole log, escaped newlines as lines, for a provider without a reader', () => {
    const plain: ProviderRuntime = { ...runtime(() => undefined), toolTranscript: undefined };
    expect(runRecord('{"out":"a\\nb"}', plain)).toEqual({ text: '{"out":"a\nb"}', source: 'the job log' });
    expect(runRecord('x', undefined).source).toBe('the job log');
  });

  it('a plugin’s reader that breaks its contract: what it read before it threw stands, non-text is none', () => {
    const read: ToolTranscriptReader = (line) => {
      if (line === 'TOOL boom') throw new Error('plugin bug');
      return line.startsWith('TOOL ') ? line.slice(5) : (42 as unknown as string);
    };
    expect(runRecord(LOG, runtime(read))).toEqual({
      text: 'npm test\nTests  3 passed (3)',
      source: 'the tools’ output',
    });
    const broken = runtime(() => undefined);
    broken.toolTranscript = () => {
      throw new Error('cannot make a reader');
    };
    expect(runRecord(LOG, broken)).toEqual({ text: '', source: 'the tools’ output' });
  });
});

describe('the test result a run’s output reports', () => {
  it.each([
    ['vitest', ' Test Files  3 passed (3)\n      Tests  12 passed (12)', 'pass'],
    ['vitest, a failure', '      Tests  2 failed | 10 passed (12)', 'fail'],
    ['pytest', '==== 3 passed in 0.12s ====', 'pass'],
    ['pytest, an error', '==== 2 passed, 1 error in 0.12s ====', 'fail'],
    ['jest', 'Tests:       1 failed, 12 passed, 13 total', 'fail'],
    ['go', 'ok  \texample.com/pkg\t0.012s', 'pass'],
    ['go, cached', 'ok  \texample.com/pkg\t(cached)', 'pass'],
    ['go, a failure', '--- FAIL: TestX (0.00s)\nFAIL\texample.com/pkg\t0.01s', 'fail'],
    ['cargo', 'test result: ok. 3 passed; 0 failed; 0 ignored', 'pass'],
    ['unittest', 'Ran 5 tests in 0.001s\n\nOK', 'pass'],
    ['unittest, a failure', 'Ran 5 tests in 0.001s\n\nFAILED (failures=1)', 'fail'],
    ['node:test (TAP)', '# tests 5\n# pass 5\n# fail 0', 'pass'],
    ['node:test (spec)', 'ℹ tests 5\nℹ pass 4\nℹ fail 1', 'fail'],
    ['no tests at all', 'Tests  0 passed (0)', undefined],
    ['node:test (TAP), no tests', '# tests 0\n# suites 0\n# pass 0\n# fail 0\n# cancelled 0\n# todo 0', undefined],
    ['node:test (spec), no tests', 'ℹ tests 0\nℹ pass 0\nℹ fail 0\nℹ duration_ms 4.2', undefined],
    ['a count of none', '0 tests passed', undefined],
    ['no tests passed', 'No tests passed', undefined],
    ['an echo of intent', 'will pass once the fixture exists', undefined],
    ['mocha', '  5 passing (12ms)', 'pass'],
    ['mocha, a failure', '  4 passing (12ms)\n  1 failing', 'fail'],
    ['jest, a file', 'PASS src/sum.test.js', 'pass'],
    ['tests, then eslint with an error', 'Tests  3 passed (3)\n$ eslint .\n✖ 1 problem (1 error, 0 warnings)', 'pass'],
    ['tests, then tsc with errors', 'Tests  3 passed (3)\n$ tsc --noEmit\nFound 2 errors in 1 file.', 'pass'],
  ] as const)('%s', (_name, output, verdict) => {
    expect(lastTestVerdict(output)).toBe(verdict);
  });
});
