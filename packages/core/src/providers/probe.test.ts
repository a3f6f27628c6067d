import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentEvent, ProviderRuntime } from './contract.js';
import { runModelProbe } from './probe.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-probe-'));
  cli = path.join(dir, 'some-cli');
  fs.writeFileSync(cli, STAND_IN, { mode: 0o755 });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A stand-in CLI: prints what the probe's first argument names, the way the real CLIs do. */
let cli: string;
const STAND_IN = `#!/bin/sh
case "$1" in
  answer) echo "FINAL ok"; exit 0 ;;
  fatal) echo "FATAL auth_invalid key rejected"; sleep 30 ;;
  silent) sleep 30 ;;
  crash) echo "starting"; printf "boom: no newline" >&2; exit 3 ;;
esac
`;

/** A provider runtime that reads the stand-in's lines: FINAL ok → final, FATAL <class> <text> → fatal. */
const runtime: ProviderRuntime = {
  id: 'some',
  createParser: () => ({
    parse(line): AgentEvent[] {
      if (line === 'FINAL ok') return [{ kind: 'final', ok: true }];
      const fatal = /^FATAL (\S+) (.*)$/.exec(line);
      if (fatal) return [{ kind: 'fatal', failureClass: fatal[1] as 'auth_invalid', detail: fatal[2] }];
      return [{ kind: 'progress', activity: 'message', detail: line }];
    },
  }),
  classifyFailure(exit, kit) {
    const fatal = exit.events.findLast((e) => e.kind === 'fatal');
    if (fatal?.kind === 'fatal') return kit.classified(vocabulary, fatal.failureClass, fatal.detail);
    return kit.classified(vocabulary, 'crashed', `${exit.stderrTail.at(-1)} (exit ${exit.exitCode})`);
  },
};
const vocabulary = {
  prefix: 'some',
  reasonOverrides: { auth_invalid: 'auth_blocked' },
  nextActions: { timeout: 'wait' },
};

function probe(mode: string, timeoutMs = 10_000) {
  return runModelProbe({
    binary: { path: cli, version: '1.0' },
    model: 'm-1',
    args: [mode],
    env: { PATH: '/usr/bin:/bin' },
    cwd: dir,
    timeoutMs,
    runtime,
    vocabulary,
  });
}

describe('a model probe (shared by the providers)', () => {
  it('an answer names the model and how long it took', async () => {
    const r = await probe('answer');
    expect(r.ok).toBe(true);
    expect(r.binary).toEqual({ path: cli, version: '1.0' });
    expect(r.checks[0]).toMatchObject({
      name: 'probe',
      status: 'ok',
      detail: expect.stringMatching(/^m-1 answered in \d+ ms$/),
    });
  });

  it(
    'stops the CLI at its first fatal event and names the failure in the provider’s words',
    { timeout: 5_000 },
    async () => {
      // the stand-in sleeps 30 s after its fatal line and the probe allows 60 s: without the stop this
      // test outlives its own 5 s limit
      const r = await probe('fatal', 60_000);
      expect(r.ok).toBe(false);
      expect(r.checks[0]).toEqual({
        name: 'probe',
        status: 'fail',
        detail: 'key rejected',
        reasonCode: 'some_auth_blocked',
        failureClass: 'auth_invalid',
      });
    },
  );

  it('a CLI that never answers times out in the provider’s words', async () => {
    const r = await probe('silent', 500);
    expect(r.checks[0]).toEqual({
      name: 'probe',
      status: 'fail',
      detail: 'no answer within 500 ms',
      reasonCode: 'some_timeout',
      failureClass: 'timeout',
    });
  });

  it('a crash is classified from the CLI’s last words, even without a closing newline', async () => {
    const r = await probe('crash');
    expect(r.checks[0]).toMatchObject({
      status: 'fail',
      detail: 'boom: no newline (exit 3)',
      reasonCode: 'some_crashed',
      failureClass: 'crashed',
    });
  });
});
