import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { providerKit, readToolTranscript, type AgentEvent, type AgentExit } from '@dx/core';
import { provider } from './runtime.js';

/** Replays a recording of the real opencode 1.18.33 (../fixtures/<name>.*) through the parser. */
function replay(name: string, options: Record<string, unknown> = { maxRetries: 3, credentialsPresent: true }) {
  const read = (ext: string) => fs.readFileSync(new URL(`../fixtures/${name}.${ext}`, import.meta.url), 'utf8');
  const parser = provider.createParser(options, providerKit);
  const stdout = read('stdout').split('\n').filter(Boolean);
  const stderr = read('stderr').split('\n').filter(Boolean);
  // stderr log lines arrive before the final error event on stdout
  const events: AgentEvent[] = [
    ...stderr.flatMap((l) => parser.parse(l, 'stderr')),
    ...stdout.flatMap((l) => parser.parse(l, 'stdout')),
  ];
  const exit: AgentExit = {
    exitCode: Number(read('rc')),
    signal: null,
    events: events.filter((e) => e.kind !== 'progress' && e.kind !== 'usage'),
    stdoutTail: stdout,
    stderrTail: stderr,
  };
  return { events, exit, classification: provider.classifyFailure(exit, providerKit) };
}

describe('opencode JSON event parser (recorded opencode 1.18.33 output)', () => {
  it('reads a run with a tool call: steps, tool, text, usage and a final result on step_finish stop', () => {
    const { events } = replay('tool');
    const calls = events.filter((e) => e.kind === 'progress' && e.activity === 'tool_call');
    expect(calls).toHaveLength(1);
    // the call's arguments as stable text: how the watcher tells one call repeated from new work
    expect(calls[0]).toMatchObject({ detail: 'write', input: expect.stringContaining('"filePath":') });
    expect(events.find((e) => e.kind === 'final')).toMatchObject({
      ok: true,
      text: 'READY. Hello from the fake model server.',
    });
    expect(events.filter((e) => e.kind === 'usage').length).toBe(2);
  });

  it('ends a bad key at the first attempt instead of retrying for a minute', () => {
    const { events } = replay('401');
    const fatal = events.filter((e) => e.kind === 'fatal');
    expect(fatal).toEqual([expect.objectContaining({ failureClass: 'auth_invalid' })]);
    expect(events.findIndex((e) => e.kind === 'fatal')).toBeLessThan(3);
  });

  it('turns transient stream errors into retries, then a fatal after maxRetries', () => {
    const retries = replay('500', { maxRetries: 3 }).events;
    expect(retries.filter((e) => e.kind === 'retry').length).toBeGreaterThan(0);
    const bounded = replay('500', { maxRetries: 1 }).events;
    expect(bounded.filter((e) => e.kind === 'retry')).toHaveLength(1);
    expect(bounded.find((e) => e.kind === 'fatal')).toMatchObject({ failureClass: 'server_error' });
  });

  it('counts each empty "unknown" step of an unreadable answer as a failed request, bounded like the others', () => {
    // OpenCode 1.18 given a web page (HTTP 200) asks again several times a second, for good: each
    // step was a progress event, and the job read "healthy" while it hammered the endpoint
    const bounded = replay('html', { maxRetries: 2 }).events;
    expect(bounded.filter((e) => e.kind === 'retry')).toHaveLength(2);
    expect(bounded.filter((e) => e.kind === 'fatal')).toEqual([
      expect.objectContaining({
        failureClass: 'server_error',
        detail: expect.stringMatching(
          /^the endpoint answered with nothing OpenCode could read .*\(gave up after 3 attempts\)$/,
        ),
      }),
    ]);
    // a step that did produce something, or that stopped, is no failed request
    expect(replay('tool').events.filter((e) => e.kind === 'retry' || e.kind === 'fatal')).toEqual([]);
  });

  it('lets OpenCode compact a conversation past the context window, bounded, and ends it when even the compaction cannot fit', () => {
    // recorded: the build agent's request overflows, OpenCode compacts, the compaction's request overflows
    const stderr = fs
      .readFileSync(new URL('../fixtures/toolong.stderr', import.meta.url), 'utf8')
      .split('\n')
      .filter(Boolean);
    const fatalLine = (maxRetries: number) => {
      const parser = provider.createParser({ maxRetries }, providerKit);
      return stderr.find((l) => parser.parse(l, 'stderr').some((e) => e.kind === 'fatal'));
    };
    // one retry allowed: the compaction is that retry, and its own overflow is the end
    expect(fatalLine(1)).toContain('agent=compaction');
    const { events } = replay('toolong', { maxRetries: 1 });
    expect(events.filter((e) => e.kind === 'retry')).toEqual([
      expect.objectContaining({ failureClass: 'context_exceeded', attempt: 1 }),
    ]);
    expect(events.filter((e) => e.kind === 'fatal')).toEqual([
      expect.objectContaining({
        failureClass: 'context_exceeded',
        detail: expect.stringMatching(/^This model's maximum context length is 128000 tokens\./),
      }),
    ]);
    // no retries allowed: the first overflow is the end
    expect(fatalLine(0)).toContain('agent=build');
  });

  it('ignores errors of the title agent', () => {
    const stderr =
      'timestamp=x level=ERROR message="stream error" small=true agent=title error.error="AI_APICallError: Incorrect API key provided"';
    expect(provider.createParser({}, providerKit).parse(stderr, 'stderr')).toEqual([]);
  });
});

describe('opencode failure classifier (every failure row of the research file)', () => {
  it.each([
    ['401', 'opencode_auth_blocked', 'auth_invalid'],
    ['403', 'opencode_auth_blocked', 'auth_invalid'],
    ['404', 'opencode_model_unavailable', 'model_unavailable'],
    ['429', 'opencode_rate_limited', 'rate_limited'],
    ['zai1302', 'opencode_rate_limited', 'rate_limited'],
    ['zai1308', 'opencode_rate_limited', 'rate_limited'],
    ['529', 'opencode_server_error', 'server_error'],
    ['refused', 'opencode_network_error', 'network'],
    // the connection cut mid-answer, after OpenCode's own retries (~70 s)
    ['drop', 'opencode_network_error', 'network'],
    // HTTP 200 with a web page where the API should be: OpenCode asked again without end
    ['html', 'opencode_server_error', 'server_error'],
    // a prompt longer than the model's context window (it was opencode_server_error, retried)
    ['toolong', 'opencode_context_exceeded', 'context_exceeded'],
    ['unknown-model', 'opencode_model_unavailable', 'model_unavailable'],
  ])('%s → %s (%s)', (name, reasonCode, failureClass) => {
    expect(replay(name).classification).toMatchObject({ reasonCode, failureClass });
  });

  it('calls "model not found" a missing key when no credentials were found at launch', () => {
    expect(replay('nokey', { credentialsPresent: false }).classification).toMatchObject({
      reasonCode: 'opencode_auth_blocked',
      failureClass: 'auth_missing',
    });
    expect(replay('nokey', { credentialsPresent: true }).classification).toMatchObject({
      reasonCode: 'opencode_model_unavailable',
    });
  });

  it('reads the Z.ai 1308 reset time into reset_at', () => {
    expect(replay('zai1308').classification.resetAt).toBe('2026-11-24T04:00:00.000Z');
  });

  it('reports a missing or half-installed binary', () => {
    const exit = (over: Partial<AgentExit>): AgentExit => ({
      exitCode: 1,
      signal: null,
      events: [],
      stdoutTail: [],
      stderrTail: [],
      ...over,
    });
    expect(provider.classifyFailure(exit({ spawnErrorCode: 'ENOENT', exitCode: null }), providerKit).reasonCode).toBe(
      'opencode_binary_missing',
    );
    expect(
      provider.classifyFailure(
        exit({ stderrTail: ["Error: opencode-ai's postinstall script was not run."] }),
        providerKit,
      ).reasonCode,
    ).toBe('opencode_binary_missing');
  });

  it('does not call a crash with "429" somewhere in its output rate limited', () => {
    const exit: AgentExit = {
      exitCode: 1,
      signal: null,
      events: [],
      stdoutTail: ['{"type":"text","part":{"text":"edited line 429"}}'],
      stderrTail: ['Segmentation fault'],
    };
    expect(provider.classifyFailure(exit, providerKit).failureClass).toBe('crashed');
  });
});

/** What the tools did, read from a job log dx-runner wrote for a real opencode run (../fixtures/<file>). */
function transcript(file: string): string[] | undefined {
  return readToolTranscript(provider, fs.readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8'));
}

describe('opencode tool transcript (job logs of real opencode 1.18.33 runs)', () => {
  it('reads the bash command the agent ran with its output, a write tool’s result, never the agent’s words', () => {
    expect(transcript('shell.joblog')).toEqual([
      `npm test\n\n> x@1.0.0 test\n> echo " Test Files  1 passed (1)" && echo "      Tests  3 passed (3)"\n\n Test Files  1 passed (1)\n      Tests  3 passed (3)\n`,
    ]);
    // its log holds "I ran npm test: Tests  12 passed (12)"
    expect(transcript('say.joblog')).toEqual([]);
    expect(transcript('tool.stdout')).toEqual(['Wrote file successfully.']);
  });

  it('leaves out the command of a call whose permission was rejected', () => {
    const read = provider.toolTranscript!(providerKit);
    const line = JSON.stringify({
      type: 'tool_use',
      part: {
        tool: 'bash',
        state: {
          status: 'error',
          input: { command: 'npm test' },
          error: 'The user rejected permission to use this tool',
        },
      },
    });
    expect(read(line)).toBe('The user rejected permission to use this tool');
  });
});
