import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { providerKit, readToolTranscript, type AgentEvent, type AgentExit } from '@dx/core';
import { provider } from './runtime.js';

/** Replays a recording of the real gemini 0.61.0 (../fixtures/<name>.*) through the parser. */
function replay(name: string) {
  const read = (ext: string) => fs.readFileSync(new URL(`../fixtures/${name}.${ext}`, import.meta.url), 'utf8');
  const parser = provider.createParser({}, providerKit);
  const stdout = read('stdout').split('\n').filter(Boolean);
  const stderr = read('stderr').split('\n').filter(Boolean);
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

describe('gemini stream-json parser (recorded gemini 0.61.0 output)', () => {
  it('reads a successful run: init, message, usage and a successful result', () => {
    const { events, exit } = replay('ok');
    expect(exit.exitCode).toBe(0);
    expect(events.map((e) => (e.kind === 'progress' ? e.activity : e.kind))).toEqual([
      'init',
      'message',
      'usage',
      'final',
    ]);
    expect(events.find((e) => e.kind === 'final')).toMatchObject({
      ok: true,
      text: 'READY. Hello from the fake model server.',
    });
  });

  it('flags the default approval mode dropping write_file while the run "succeeds" with exit 0', () => {
    const { events, exit } = replay('default-approval');
    expect(exit.exitCode).toBe(0);
    expect(events.find((e) => e.kind === 'writes_refused')).toMatchObject({
      detail: expect.stringContaining('write_file'),
    });
    expect(events.find((e) => e.kind === 'final')).toMatchObject({ ok: true });
    // the call's arguments as stable text (keys sorted): how the watcher tells one call repeated
    expect(events.find((e) => e.kind === 'progress' && e.activity === 'tool_call')).toMatchObject({
      detail: 'write_file',
      input: '{"content":"written through the fake model server\\n","file_path":"/tmp/recorded/wt/out.txt"}',
    });
  });

  it('turns "Attempt N failed" lines into retries', () => {
    expect(replay('429').events.find((e) => e.kind === 'retry')).toMatchObject({
      failureClass: 'rate_limited',
      attempt: 1,
    });
  });
});

describe('gemini failure classifier (every failure row of the research file)', () => {
  it.each([
    ['noauth', 'gemini_auth_missing', 'auth_missing'],
    ['untrusted', 'gemini_untrusted_workspace', 'untrusted_workspace'],
    ['400', 'gemini_auth_blocked', 'auth_invalid'],
    ['401', 'gemini_auth_blocked', 'auth_invalid'],
    ['403', 'gemini_auth_blocked', 'auth_invalid'],
    ['404', 'gemini_model_unavailable', 'model_unavailable'],
    ['429', 'gemini_capacity_exhausted', 'rate_limited'],
    ['500', 'gemini_server_error', 'server_error'],
    ['503', 'gemini_capacity_exhausted', 'server_error'],
    ['refused', 'gemini_network_error', 'network'],
    // the connection cut mid-answer: undici's "terminated" (it was gemini_crashed)
    ['drop', 'gemini_network_error', 'network'],
    // an answer with no text: exit 0, result status error (it was gemini_crashed, "gemini exited 0")
    ['empty', 'gemini_server_error', 'server_error'],
    // HTTP 200 with a web page where the API should be (it was gemini_crashed)
    ['html', 'gemini_server_error', 'server_error'],
    // a prompt longer than the model's context window (it was gemini_crashed: "inspect logs and restart")
    ['toolong', 'gemini_context_exceeded', 'context_exceeded'],
  ])('%s → %s (%s)', (name, reasonCode, failureClass) => {
    expect(replay(name).classification).toMatchObject({ reasonCode, failureClass });
  });

  it("names both token counts of a prompt longer than the model's context window, without the JSON around them", () => {
    expect(replay('toolong').classification.summary).toBe(
      'The input token count (1215846) exceeds the maximum number of tokens allowed (1048576)',
    );
  });

  it('reports a missing binary and a terminal daily quota', () => {
    const base: AgentExit = { exitCode: 1, signal: null, events: [], stdoutTail: [], stderrTail: [] };
    expect(
      provider.classifyFailure({ ...base, spawnErrorCode: 'ENOENT', exitCode: null }, providerKit).reasonCode,
    ).toBe('gemini_binary_missing');
    expect(
      provider.classifyFailure(
        { ...base, stderrTail: ['TerminalQuotaError: You have exhausted your daily quota on this model.'] },
        providerKit,
      ),
    ).toMatchObject({ reasonCode: 'gemini_capacity_exhausted', failureClass: 'rate_limited' });
  });

  it('does not take a stray "429" in output for a rate limit', () => {
    const exit: AgentExit = {
      exitCode: 1,
      signal: null,
      events: [],
      stdoutTail: ['{"type":"message","role":"assistant","content":"see issue 429"}'],
      stderrTail: ['boom'],
    };
    expect(provider.classifyFailure(exit, providerKit).failureClass).toBe('crashed');
  });
});

/** What the tools did, read from a job log of a real gemini run (../fixtures/<file>). */
function transcript(file: string): string[] | undefined {
  return readToolTranscript(provider, fs.readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8'));
}

describe('gemini tool transcript (job logs of real gemini 0.61.0 runs)', () => {
  it('reads the shell command the agent ran (yolo mode) with its output, never the agent’s words', () => {
    expect(transcript('shell.joblog')).toEqual([
      `npm test\n> x@1.0.0 test\n> echo " Test Files  1 passed (1)" && echo "      Tests  3 passed (3)"\n\n Test Files  1 passed (1)\n      Tests  3 passed (3)`,
    ]);
    // its log holds "I ran npm test: Tests  12 passed (12)" and the prompt gemini echoes
    expect(transcript('say.joblog')).toEqual([]);
  });

  it('leaves out the command of a shell call the approval mode refused', () => {
    expect(transcript('shell-refused.joblog')).toEqual([expect.stringMatching(/^Tool "run_shell_command" not found/)]);
  });

  it('holds nothing when the agent only says it ran the tests (nor the prompt gemini echoes)', () => {
    const log = fs.readFileSync(new URL('../fixtures/say.joblog', import.meta.url), 'utf8');
    expect(log).toContain('I ran npm test: Tests  12 passed (12)');
    expect(log).toContain('"role":"user"');
    expect(transcript('say.joblog')).toEqual([]);
  });
});
