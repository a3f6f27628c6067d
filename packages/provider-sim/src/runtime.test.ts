import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readToolTranscript } from '@dx/core';
import { provider as ccGlm } from '@dx/provider-cc-glm/runtime';
import { provider } from './runtime.js';

describe('the simulator’s tool transcript', () => {
  it('reads an imitated CLI’s lines as that CLI’s provider does; its own events carry no tool output', () => {
    const recorded = fs.readFileSync(new URL('../../provider-cc-glm/fixtures/shell.joblog', import.meta.url), 'utf8');
    const simulated = `{"sim":1,"type":"tool_use","tool":"bash","detail":"npm test"}\n${recorded}`;
    const transcript = readToolTranscript(provider, simulated);
    expect(transcript).toEqual(readToolTranscript(ccGlm, recorded));
    expect(transcript?.[0]).toMatch(/^npm test\n/);
    expect(readToolTranscript(provider, '{"sim":1,"type":"message","text":"npm test: 12 passed"}')).toEqual([]);
  });
});
