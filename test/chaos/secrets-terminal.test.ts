/**
 * Secrets and terminal safety everywhere: a key inside a line longer than the reader's buffer is
 * never split into two unredacted halves, every field of every record is redacted, and agent text
 * reaches a terminal with its control characters made visible (JSON keeps them escaped).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobReportSchema, LogsOutputSchema } from '@dx/core';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

const KEY = 'zk-chaos-SECRET-9f8e7d6c5b4a3210';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox({ ZHIPU_API_KEY: KEY });
});
afterEach(async () => {
  await sb.cleanup();
});

function grepTree(dir: string, needle: string): string[] {
  try {
    return execFileSync('grep', ['-rlF', '--', needle, dir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function run(beads: string, steps: unknown[], silent = false): Promise<void> {
  const r = await sb.dx([
    'start',
    '--beads',
    beads,
    '--provider',
    'fake',
    '--prompt-file',
    sb.prompt({ silent, steps }),
    '--worktree',
    sb.worktree(beads),
  ]);
  expect(r.code, r.stderr).toBe(0);
  await waitFor(() => fs.existsSync(path.join(sb.state, 'fake', `${beads}.outcome`)), `${beads} outcome`, 60_000);
}

describe('secrets', () => {
  it('a key in a 3 MB line is redacted whole wherever the line is cut', async () => {
    await run('bd-long', [{ print_repeat: { text: '${env:ZHIPU_API_KEY}~', times: 100_000 } }, { exit: 0 }], true);
    const log = fs.readFileSync(path.join(sb.state, 'fake', 'bd-long.log'), 'utf8');
    expect(log.length).toBeGreaterThan(1_000_000);
    // nothing but redaction markers and separators: no half of the key survived a cut
    const leftover = log.replace(/\[REDACTED\]/g, '').replace(/[~\n]/g, '');
    expect(leftover).toBe('');
    expect(grepTree(sb.state, KEY.slice(0, 12))).toEqual([]);
    expect(grepTree(sb.state, KEY.slice(-12))).toEqual([]);
    const logs = await sb.dxJson(['logs', '--beads', 'bd-long', '--lines', '5'], LogsOutputSchema);
    expect(logs.json.lines.join('').replace(/\[REDACTED\]|~/g, '')).toBe('');
  });

  it('redacts every field of the outcome, even a changed file whose name holds the key', async () => {
    await run('bd-fname', [
      { write: 'notes-${env:ZHIPU_API_KEY}.txt', content: 'x\n' },
      { result: 'done' },
      { exit: 0 },
    ]);
    const outcome = fs.readFileSync(path.join(sb.state, 'fake', 'bd-fname.outcome'), 'utf8');
    expect(outcome).toContain('notes-[REDACTED].txt');
    expect(grepTree(sb.state, KEY)).toEqual([]);
    const report = await sb.dxJson(['report', '--beads', 'bd-fname', '--format', 'json'], JobReportSchema);
    expect(report.json.evidence.changed_files).toEqual(['notes-[REDACTED].txt']);
  });
});

describe('terminal safety', () => {
  const HOSTILE = 'done \u001b[2J\u001b[31mred\u0007 \u009b31m c1 \u202eevil';

  it('agent text reaches the terminal with control characters made visible; JSON keeps them escaped', async () => {
    await run('bd-ansi', [
      { print: `line ${HOSTILE}` },
      { write: 'a.txt', content: 'x\n' },
      { result: HOSTILE },
      { exit: 0 },
    ]);
    const md = await sb.dx(['report', '--beads', 'bd-ansi']);
    expect(md.code).toBe(0);
    const logs = await sb.dx(['logs', '--beads', 'bd-ansi']);
    for (const out of [md.stdout, logs.stdout]) {
      // eslint-disable-next-line no-control-regex
      expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    }
    expect(logs.stdout).toContain('\\x1b[2J\\x1b[31mred\\x07 \\x9b31m c1 \\u202eevil');
    const json = await sb.dx(['report', '--beads', 'bd-ansi', '--json']);
    // eslint-disable-next-line no-control-regex
    expect(json.stdout).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202e]/);
    expect(JSON.parse(json.stdout).final_text).toBe(HOSTILE);
  });

  it('an error message quoting a hostile file name is shown with visible escapes', async () => {
    const bad = path.join(sb.dir, 'prompt-\u001b[31mred');
    const r = await sb.dx([
      'start',
      '--beads',
      'bd-x',
      '--provider',
      'fake',
      '--prompt-file',
      bad,
      '--worktree',
      sb.worktree('bd-x'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('prompt-\\x1b[31mred');
    // eslint-disable-next-line no-control-regex
    expect(r.stderr).not.toMatch(/\u001b/);
  });
});
