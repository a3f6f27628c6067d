import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { providerKit, readToolTranscript, type AgentEvent, type AgentExit } from '@dx/core';
import { provider } from './runtime.js';

/** Replays a recording of the real claude 2.1.197 (../fixtures/<name>.{stdout,stderr,rc}) through the parser. */
function replay(name: string): { events: AgentEvent[]; exit: AgentExit } {
  const read = (ext: string) => fs.readFileSync(new URL(`../fixtures/${name}.${ext}`, import.meta.url), 'utf8');
  const parser = provider.createParser({ maxRetries: 0 }, providerKit);
  const stdout = read('stdout').split('\n').filter(Boolean);
  const stderr = read('stderr').split('\n').filter(Boolean);
  const events = [
    ...stdout.flatMap((l) => parser.parse(l, 'stdout')),
    ...stderr.flatMap((l) => parser.parse(l, 'stderr')),
  ];
  const exit: AgentExit = {
    exitCode: Number(read('rc')),
    signal: null,
    events: events.filter((e) => e.kind !== 'progress' && e.kind !== 'usage'),
    stdoutTail: stdout,
    stderrTail: stderr,
  };
  return { events, exit };
}

const classify = (name: string) => provider.classifyFailure(replay(name).exit, providerKit);

describe('cc-glm stream-json parser (recorded claude 2.1.197 output)', () => {
  it('reads a successful run: init, tool call and result, message, usage and the final result', () => {
    const { events, exit } = replay('tool');
    expect(exit.exitCode).toBe(0);
    const kinds = events.map((e) => (e.kind === 'progress' ? e.activity : e.kind));
    expect(kinds).toEqual(['init', 'tool_call', 'tool_result', 'message', 'usage', 'final']);
    // the call's arguments as stable text: how the watcher tells one call repeated from new work
    const call = events.find((e) => e.kind === 'progress' && e.activity === 'tool_call');
    expect(call).toMatchObject({ detail: 'Write', input: expect.stringContaining('"file_path":') });
    expect(events.find((e) => e.kind === 'final')).toMatchObject({
      ok: true,
      text: 'READY. Hello from the fake model server.',
    });
    expect(events.find((e) => e.kind === 'usage')).toMatchObject({
      mode: 'total',
      inputTokens: 24,
      outputTokens: 27,
      costUsd: 0.000795,
    });
  });

  it('flags writes denied in default permission mode although claude exits 0', () => {
    const { events, exit } = replay('denied');
    expect(exit.exitCode).toBe(0);
    expect(events.filter((e) => e.kind === 'writes_refused').length).toBeGreaterThan(0);
    expect(events.find((e) => e.kind === 'final')).toMatchObject({ ok: true });
  });

  it('turns api_retry events into rate-limit retries with their delay', () => {
    const retry = replay('zai1302-retry').events.find((e) => e.kind === 'retry');
    expect(retry).toMatchObject({ kind: 'retry', failureClass: 'rate_limited', retryAfterSec: 1, attempt: 1 });
  });

  it('marks an API error result as a failed final result', () => {
    expect(replay('401').events.find((e) => e.kind === 'final')).toMatchObject({ ok: false });
  });
});

describe('cc-glm failure classifier (every failure row of the research file)', () => {
  it.each([
    ['noauth', 'cc_glm_auth_missing', 'auth_missing'],
    ['401', 'cc_glm_auth_blocked', 'auth_invalid'],
    ['403', 'cc_glm_auth_blocked', 'auth_invalid'],
    ['404', 'cc_glm_model_unavailable', 'model_unavailable'],
    ['429', 'cc_glm_rate_limited', 'rate_limited'],
    ['zai1302', 'cc_glm_rate_limited', 'rate_limited'],
    ['zai1308', 'cc_glm_quota_exhausted', 'rate_limited'],
    ['500', 'cc_glm_server_error', 'server_error'],
    ['529', 'cc_glm_server_error', 'server_error'],
    ['refused', 'cc_glm_network_error', 'network'],
    ['hang', 'cc_glm_timeout', 'timeout'],
    ['root-bypass', 'cc_glm_permission_denied', 'permission_denied'],
    // HTTP 200 with a web page where the API should be (it was cc_glm_crashed)
    ['html', 'cc_glm_server_error', 'server_error'],
    // a prompt longer than the model's context window (it was cc_glm_crashed: "inspect logs and restart")
    ['toolong', 'cc_glm_context_exceeded', 'context_exceeded'],
  ])('%s → %s (%s)', (name, reasonCode, failureClass) => {
    expect(classify(name)).toMatchObject({ reasonCode, failureClass });
  });

  it('reads the Z.ai 1308 reset time (China Standard Time) into reset_at', () => {
    expect(classify('zai1308')).toMatchObject({
      resetAt: '2026-11-24T04:00:00.000Z',
      summary: expect.stringContaining('Usage limit reached for 5 hour'),
    });
  });

  it("keeps Claude Code's own words for a prompt longer than the model's context window", () => {
    expect(classify('toolong').summary).toMatch(/^Prompt is too long · the request is ~212408 tokens \(limit 200000\)/);
  });

  it('tells a 401 (bad key) from a missing key although both say "Not logged in"', () => {
    expect(classify('401').failureClass).toBe('auth_invalid');
    expect(classify('noauth').failureClass).toBe('auth_missing');
  });

  it('does not call a successful run with "429" in its output rate limited', () => {
    const exit: AgentExit = {
      exitCode: 1,
      signal: null,
      events: [],
      stdoutTail: ['{"type":"assistant","message":{"content":[{"type":"text","text":"fixed line 429 of app.ts"}]}}'],
      stderrTail: ['segfault'],
    };
    expect(provider.classifyFailure(exit, providerKit)).toMatchObject({
      failureClass: 'crashed',
      reasonCode: 'cc_glm_crashed',
    });
  });

  it('reports a missing binary', () => {
    const exit: AgentExit = {
      exitCode: null,
      signal: null,
      spawnErrorCode: 'ENOENT',
      events: [],
      stdoutTail: [],
      stderrTail: [],
    };
    expect(provider.classifyFailure(exit, providerKit)).toMatchObject({
      reasonCode: 'cc_glm_binary_missing',
      failureClass: 'binary_missing',
    });
  });
});

/** What the tools did, read from a job log dx-runner wrote for a real claude run (../fixtures/<file>). */
function transcript(file: string): string[] | undefined {
  return readToolTranscript(provider, fs.readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8'));
}

describe('cc-glm tool transcript (job logs of real claude 2.1.197 runs)', () => {
  it('reads the Bash command the agent ran with its output, a write tool’s result, never the agent’s words', () => {
    expect(transcript('shell.joblog')).toEqual([
      `npm test\n> x@1.0.0 test\n> echo " Test Files  1 passed (1)" && echo "      Tests  3 passed (3)"\n\n Test Files  1 passed (1)\n      Tests  3 passed (3)`,
    ]);
    // its log holds "I ran npm test: Tests  12 passed (12)", twice: the message and the final answer
    expect(transcript('say.joblog')).toEqual([]);
    expect(transcript('tool.stdout')).toEqual([
      'File created successfully at: /tmp/recorded/wt/out2.txt (file state is current in your context — no need to Read it back)',
    ]);
  });

  it('a Bash call the permission mode refused: its refusal, not its command', () => {
    const read = provider.toolTranscript!(providerKit);
    read(
      JSON.stringify({
        type: 'assistant',
        message: { content: [{ type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'npm test' } }] },
      }),
    );
    const refusal = "Claude requested permissions to use Bash, but you haven't granted it yet.";
    const result = read(
      JSON.stringify({
        type: 'user',
        message: { content: [{ type: 'tool_result', tool_use_id: 'toolu_1', is_error: true, content: refusal }] },
      }),
    );
    expect(result).toBe(refusal);
  });
});
