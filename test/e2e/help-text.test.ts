/**
 * `--help` as an operator reads it in an 80-column terminal or a pipe: every command of every bin,
 * its description wrapped as paragraphs (the source wraps at ~100 columns; oclif wrapped each of
 * those lines again, leaving every other line a few words long).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS as BATCH_COMMANDS } from '../../packages/dx-batch/dist/registry.js';
import { COMMANDS as CLI_COMMANDS } from '../../packages/cli/dist/registry.js';
import { COMMANDS as NIGHTLY_COMMANDS } from '../../packages/nightly-dispatch/dist/registry.js';
import { BATCH_BIN, CLI_BIN, NIGHTLY_BIN } from '../helpers/paths.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
beforeAll(() => {
  sb = createSandbox();
});
afterAll(async () => {
  await sb.cleanup();
});

const WIDTH = 80;
// the plugins' commands (dashboard, the simulator's) run under dx-runner too
const PLUGIN_COMMANDS = ['dashboard', 'demo', 'sim:scenarios'];

/** Lines of a paragraph that end before they had to: the next line's first word would have fit. */
function raggedLines(help: string): string[] {
  const description = /\nDESCRIPTION\n([\s\S]*?)(\n {2}EXIT CODES|\n[A-Z]+\n|$)/.exec(help)?.[1] ?? '';
  const lines = description.split('\n');
  return lines.filter((line, i) => {
    const next = lines[i + 1];
    if (!line.trim() || !next?.trim()) return false;
    const nextWord = next.trim().split(' ')[0] ?? '';
    return line.trimEnd().length + 1 + nextWord.length <= WIDTH;
  });
}

describe('--help in 80 columns', () => {
  it.each([
    ['dx-runner', CLI_BIN, [...Object.keys(CLI_COMMANDS), ...PLUGIN_COMMANDS]],
    ['dx-batch', BATCH_BIN, Object.keys(BATCH_COMMANDS)],
    ['nightly-dispatch', NIGHTLY_BIN, Object.keys(NIGHTLY_COMMANDS)],
  ])('%s: every description wraps as paragraphs', async (_, bin, ids) => {
    const ragged: Record<string, string[]> = {};
    for (const id of ids) {
      const r = await sb.bin(bin, [...id.split(':'), '--help'], { env: { OCLIF_COLUMNS: String(WIDTH) } });
      expect(r.code, `${id}: ${r.stderr}`).toBe(0);
      expect(r.stdout, id).toContain('DESCRIPTION');
      const lines = raggedLines(r.stdout);
      if (lines.length > 0) ragged[id] = lines;
    }
    expect(ragged).toEqual({});
  });
});
