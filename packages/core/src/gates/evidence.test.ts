import { describe, expect, it } from 'vitest';
import type { ProviderRuntime, ToolTranscriptReader } from '../providers/contract.js';
import { runRecord } from './evidence.js';

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
