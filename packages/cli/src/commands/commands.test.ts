import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCommand } from '@oclif/test';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorOutputSchema,
  PreflightOutputSchema,
  ProfilesOutputSchema,
  StatusOutputSchema,
  type ErrorOutput,
} from '@dx/core';

/**
 * dx-runner's commands in-process (oclif's test helpers): flag parsing, usage errors, error JSON
 * and output shapes, without spawning Node for each case. The e2e suites keep the real processes.
 */
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const saved = { ...process.env };
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-cmd-'));
  process.env.DX_RUNNER_STATE_DIR = path.join(tmp, 'state');
  process.env.HOME = tmp;
  process.env.DX_POLICY_FILE = '';
});
afterEach(() => {
  // a command that failed sets process.exitCode; the test run itself must not inherit it
  process.exitCode = undefined;
});
afterAll(() => {
  process.env = saved;
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function dx(...args: string[]) {
  const r = await runCommand(args, { root });
  const exit = (r.error as { oclif?: { exit?: number } } | undefined)?.oclif?.exit ?? process.exitCode ?? 0;
  return { ...r, exit: Number(exit) };
}

/** stderr without Node's process warnings (oclif warns in-process about commands that failed to parse). */
function ownLines(stderr: string): string[] {
  return stderr
    .trim()
    .split('\n')
    .filter((l) => l && !l.startsWith('(node:') && !l.startsWith('(Use `node'));
}

function errorJson(stdout: string): ErrorOutput['error'] {
  return ErrorOutputSchema.parse(JSON.parse(stdout)).error;
}

describe('dx-runner commands in-process', () => {
  it('status on an empty state dir is an empty, schema-valid list', async () => {
    const r = await dx('status', '--json');
    expect(r.exit).toBe(0);
    const status = StatusOutputSchema.parse(JSON.parse(r.stdout));
    expect(status.jobs).toEqual([]);
  });

  it('an invalid beads id is refused by the flag itself: exit 1, invalid_beads_id, a sentence to act on', async () => {
    for (const args of [
      ['check', '--beads', 'bad!id'],
      ['check', '../etc'],
      ['stop', '--beads', '-rf'],
      ['report', 'a..b'],
    ]) {
      const r = await dx(...args, '--json');
      const e = errorJson(r.stdout);
      expect(e.reason_code, args.join(' ')).toBe('invalid_beads_id');
      expect(e.exit_code).toBe(1);
      expect(r.exit).toBe(1);
      expect(e.next_action_text).toMatch(/beads issue id/);
    }
  });

  it('a job that does not exist: job_not_found, exit 1, for every per-job command', async () => {
    for (const cmd of ['check', 'stop', 'kill', 'logs', 'report', 'finalize', 'restart']) {
      const r = await dx(cmd, 'bd-none', '--json');
      const e = errorJson(r.stdout);
      expect(e.reason_code, cmd).toBe('job_not_found');
      expect(r.exit, cmd).toBe(1);
    }
  });

  it('usage errors exit 1 (never 2, which means a stalled job) with reason_code usage', async () => {
    const unknown = await dx('check', '--bogus', '--json');
    expect(unknown.exit).toBe(1);
    expect(errorJson(unknown.stdout)).toMatchObject({ reason_code: 'usage', next_action: 'see_--help' });

    const human = await dx('check', '--bogus');
    expect(human.exit).toBe(1);
    expect(ownLines(human.stderr)).toEqual(['Error: Nonexistent flag: --bogus; see --help (reason_code=usage)']);

    const missing = await dx('start', '--json');
    expect(missing.exit).toBe(1);
    expect(errorJson(missing.stdout).exit_code).toBe(1);
  });

  it('a positional id and a different --beads are a conflict, not a guess', async () => {
    const r = await dx('check', 'bd-a', '--beads', 'bd-b', '--json');
    expect(r.exit).toBe(1);
    expect(errorJson(r.stdout).reason_code).toBe('beads_id_conflict');
  });

  it('start with an unknown provider: exit 20, provider_not_found, the available ones named', async () => {
    const prompt = path.join(tmp, 'prompt.txt');
    fs.writeFileSync(prompt, 'do it');
    const r = await dx('start', '--beads', 'bd-1', '--provider', 'nope', '--prompt-file', prompt, '--json');
    expect(r.exit).toBe(20);
    const e = errorJson(r.stdout);
    expect(e.reason_code).toBe('provider_not_found');
    expect(e.message).toMatch(/available: .*opencode/);
    // nothing was recorded for a start that never happened
    expect(StatusOutputSchema.parse(JSON.parse((await dx('status', '--json')).stdout)).jobs).toEqual([]);
  });

  it('preflight of an unknown provider answers in its own schema with exit 20', async () => {
    const r = await dx('preflight', '--provider', 'nope', '--json');
    expect(r.exit).toBe(20);
    const p = PreflightOutputSchema.parse(JSON.parse(r.stdout));
    expect(p).toMatchObject({ ok: false, reason_code: 'provider_not_found' });
  });

  it('profiles lists the shipped profiles with their limits', async () => {
    const r = await dx('profiles', '--json');
    expect(r.exit).toBe(0);
    const names = ProfilesOutputSchema.parse(JSON.parse(r.stdout)).profiles.map((p) => p.name);
    expect(names).toContain('cc-glm-fallback');
  });

  it('an unknown command is one line naming it and where to look, exit 1', async () => {
    const r = await dx('chek');
    expect(r.exit).toBe(1);
    expect(ownLines(r.stderr)).toEqual([
      'Error: unknown command "chek"; see dx-runner --help (reason_code=unknown_command)',
    ]);
  });
});
