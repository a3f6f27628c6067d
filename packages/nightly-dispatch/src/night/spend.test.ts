import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DxRunnerClient } from '@dx/core';
import { recordJobSpend, spentLastDay } from './spend.js';

let root: string | undefined;
afterEach(() => {
  if (root) fs.rmSync(root, { recursive: true, force: true });
  root = undefined;
});

/** A dx-runner whose reports give each job's usage (a job not listed cannot be reported). */
const reporting = (usage: Record<string, [number | null, number | null]>) =>
  ({
    async report(beads: string) {
      if (!usage[beads]) throw new Error(`no job ${beads}`);
      const [tokens_input, tokens_output] = usage[beads];
      return { usage: { tokens_input, tokens_output } };
    },
  }) as unknown as DxRunnerClient;

describe("the night's token spend", () => {
  it('counts what jobs that ended in the last 24 h reported, and forgets older ones', async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-spend-'));
    const client = reporting({ a: [1000, 200], b: [null, 50], c: [300, 0] });
    const day = 24 * 3_600_000;
    const t0 = Date.parse('2026-12-01T20:00:00Z');
    const lines: string[] = [];
    const log = (l: string) => lines.push(l);
    expect(await recordJobSpend(root, client, { beads: 'a', host: 'local', run_instance: 'r-a' }, log, t0)).toBe(1200);
    expect(
      await recordJobSpend(root, client, { beads: 'b', host: 'epyc6', run_instance: 'r-b' }, log, t0 + 3_600_000),
    ).toBe(50);
    // a report that cannot be had counts for nothing, and says so
    expect(
      await recordJobSpend(root, client, { beads: 'gone', host: 'local', run_instance: null }, log, t0 + 3_600_000),
    ).toBe(0);
    expect(lines).toEqual([
      expect.stringMatching(/^gone \(local\): its usage could not be read .*counted as 0 tokens$/),
    ]);
    expect(spentLastDay(root, t0 + 2 * 3_600_000)).toBe(1250);
    // a run killed before it forgot job a sees it end again: it is counted once
    expect(
      await recordJobSpend(root, client, { beads: 'a', host: 'local', run_instance: 'r-a' }, log, t0 + 7_200_000),
    ).toBe(1200);
    expect(spentLastDay(root, t0 + 2 * 3_600_000)).toBe(1250);
    // a day after the first, only the later ones count; recording drops what is older
    expect(spentLastDay(root, t0 + day)).toBe(50);
    await recordJobSpend(root, client, { beads: 'c', host: 'local', run_instance: 'r-c' }, log, t0 + day);
    expect(
      JSON.parse(fs.readFileSync(path.join(root, 'spend.json'), 'utf8')).map((e: { beads: string }) => e.beads),
    ).toEqual(['b', 'gone', 'c']);
    expect(spentLastDay(root, t0 + day)).toBe(350);
  });

  it('reads an unreadable record as nothing spent rather than stopping the night', () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-spend-'));
    fs.writeFileSync(path.join(root, 'spend.json'), '{"cut short');
    expect(spentLastDay(root)).toBe(0);
  });
});
