/**
 * Odd state files never break other jobs or hang a command: a directory where an outcome should
 * be, a FIFO named like a heartbeat, a garbled outcome under a running job, a symlinked watcher
 * log, and beads ids that would alias another job's files.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ALIASING_ENDINGS,
  JOB_FILE_SUFFIXES,
  OutcomeSchema,
  parseKv,
  PruneOutputSchema,
  StatusOutputSchema,
  WatchdogOutputSchema,
} from '@dx/core';
import { CLI_BIN } from '../helpers/paths.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const dir = () => path.join(sb.state, 'fake');

async function finished(
  beads: string,
  steps: unknown[] = [{ write: 'x.txt', content: 'x\n' }, { result: 'done' }, { exit: 0 }],
) {
  const r = await sb.startFake(beads, steps);
  expect(r.code, r.stderr).toBe(0);
  await waitFor(
    () => fs.existsSync(path.join(dir(), `${beads}.outcome`)) && !fs.existsSync(path.join(dir(), `${beads}.pid`)),
    `${beads} finished`,
  );
}

describe('odd state files', () => {
  it('a directory named like an outcome makes that job alone state_file_corrupt, naming the file', async () => {
    await finished('bd-good');
    await finished('bd-odd');
    const odd = path.join(dir(), 'bd-odd.outcome');
    fs.rmSync(odd);
    fs.mkdirSync(odd);
    const status = await sb.dxJson(['status', '--recent', '5'], StatusOutputSchema);
    expect(status.code).toBe(0);
    expect(status.json.jobs.map((j) => [j.beads, j.state, j.reason_code])).toEqual(
      expect.arrayContaining([
        ['bd-good', 'exited_ok', 'process_exit'],
        ['bd-odd', 'exited_err', 'state_file_corrupt'],
      ]),
    );
    const check = await sb.dx(['check', '--beads', 'bd-odd']);
    expect(check.code).toBe(3);
    expect((await sb.dx(['check', '--beads', 'bd-good'])).code).toBe(0);
    const prune = await sb.dxJson(['prune'], PruneOutputSchema);
    expect(prune.json.actions).toContainEqual(
      expect.objectContaining({
        beads: 'bd-odd',
        action: 'left_corrupt_state',
        detail: expect.stringContaining(`${odd}: is a directory`),
      }),
    );
    expect((await sb.dx(['watchdog', '--once'])).code).toBe(0);
    const report = await sb.dx(['report', '--format', 'json']);
    expect(report.code, report.stderr).toBe(0);
    expect(fs.statSync(odd).isDirectory()).toBe(true);
  });

  it('an outcome whose list of changed files is cut short makes that job alone state_file_corrupt', async () => {
    await finished('bd-good');
    await finished('bd-cut');
    const cut = path.join(dir(), 'bd-cut.outcome');
    const text = fs.readFileSync(cut, 'utf8');
    expect(text).toMatch(/^changed_files=\["x\.txt"\]$/m);
    fs.writeFileSync(cut, text.replace(/^changed_files=.*$/m, 'changed_files=["x.t'));
    const status = await sb.dxJson(['status', '--recent', '5'], StatusOutputSchema);
    expect(status.code, status.stderr).toBe(0);
    expect(status.json.jobs.map((j) => [j.beads, j.state, j.reason_code])).toEqual(
      expect.arrayContaining([
        ['bd-good', 'exited_ok', 'process_exit'],
        ['bd-cut', 'exited_err', 'state_file_corrupt'],
      ]),
    );
    const check = await sb.dx(['check', '--beads', 'bd-cut', '--json']);
    expect(check.code).toBe(3);
    expect(JSON.parse(check.stdout)).toMatchObject({
      reason_code: 'state_file_corrupt',
      corrupt: { file: cut, message: expect.stringContaining('changed_files: expected a list') },
    });
    const human = await sb.dx(['check', '--beads', 'bd-cut']);
    expect(human.stdout).toContain(`unreadable ${cut}: changed_files: expected a list`);
    const table = await sb.dx(['status', '--recent', '5']);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toContain('bd-cut');
    expect((await sb.dx(['report', '--format', 'json'])).code).toBe(0);
    expect(fs.readFileSync(cut, 'utf8')).toContain('changed_files=["x.t');
  });

  it('a FIFO named like a heartbeat hangs no command; a long-running watchdog ends promptly on SIGTERM', async () => {
    await finished('bd-ok');
    await finished('bd-fifo');
    const fifo = path.join(dir(), 'bd-fifo.heartbeat');
    fs.rmSync(fifo);
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    for (const args of [
      ['status', '--recent', '5'],
      ['prune'],
      ['watchdog', '--once'],
      ['check', '--beads', 'bd-fifo'],
      ['report', '--beads', 'bd-fifo'],
    ]) {
      const r = await sb.dx([...args, '--json'], { timeoutMs: 20_000 });
      expect([0, 1, 3], `${args.join(' ')}: ${r.stderr}`).toContain(r.code);
    }
    const status = await sb.dxJson(['status', '--recent', '5'], StatusOutputSchema);
    expect(status.json.jobs.find((j) => j.beads === 'bd-fifo')?.reason_code).toBe('state_file_corrupt');
    expect(status.json.jobs.find((j) => j.beads === 'bd-ok')?.state).toBe('exited_ok');

    const watchdog = spawn(process.execPath, [CLI_BIN, 'watchdog', '--interval', '0.2'], {
      env: sb.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => watchdog.on('close', (code) => resolve(code)));
    await new Promise((r) => setTimeout(r, 1500));
    const t0 = Date.now();
    watchdog.kill('SIGTERM');
    const code = await exited;
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(code).toBe(0);
  });

  it('a garbled outcome under a running job: stop still works, the corrupt file is set aside, the real outcome kept', async () => {
    const r = await sb.dx([...sb.fakeStartArgs('bd-garbled', [{ message: 'working' }, { hang: true }])]);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(
      () => fs.readFileSync(path.join(dir(), 'bd-garbled.log'), 'utf8').includes('working'),
      'agent running',
    );
    fs.writeFileSync(path.join(dir(), 'bd-garbled.outcome'), 'state=suc\u0000');
    const check = await sb.dx(['check', '--beads', 'bd-garbled', '--json']);
    expect(JSON.parse(check.stdout).state).toMatch(/launching|healthy/);
    const stop = await sb.dx(['stop', '--beads', 'bd-garbled', '--json']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ stopped: true, reason_code: 'manual_stop', written_by: 'watcher' });
    const outcome = OutcomeSchema.parse(parseKv(fs.readFileSync(path.join(dir(), 'bd-garbled.outcome'), 'utf8')));
    expect(outcome).toMatchObject({ state: 'killed', reason_code: 'manual_stop' });
    expect(fs.readFileSync(path.join(dir(), 'bd-garbled.outcome.corrupt.1'), 'utf8')).toBe('state=suc\u0000');
  });

  it('never writes the watcher diagnostics log through a symlink', async () => {
    const target = path.join(sb.dir, 'elsewhere.txt');
    fs.writeFileSync(target, 'untouched\n');
    fs.mkdirSync(dir(), { recursive: true, mode: 0o700 });
    fs.symlinkSync(target, path.join(dir(), 'bd-link.watcher.log'));
    await finished('bd-link');
    expect(fs.readFileSync(target, 'utf8')).toBe('untouched\n');
    const check = await sb.dx(['check', '--beads', 'bd-link', '--json']);
    expect(JSON.parse(check.stdout).state).toBe('exited_ok');
  });

  it("refuses every beads id that would alias another job's files, for every suffix", async () => {
    const aliasing: string[] = [];
    for (const long of JOB_FILE_SUFFIXES) {
      for (const short of JOB_FILE_SUFFIXES)
        if (long !== short && long.endsWith(short)) aliasing.push(`bd-x${long.slice(0, -short.length)}`);
    }
    expect(aliasing.length).toBeGreaterThan(0);
    expect(ALIASING_ENDINGS.length).toBeGreaterThan(0);
    const prompt = sb.prompt({ steps: [{ exit: 0 }] });
    for (const id of aliasing) {
      const r = await sb.dx([
        'start',
        '--beads',
        id,
        '--provider',
        'fake',
        '--prompt-file',
        prompt,
        '--worktree',
        sb.worktree('bd-alias'),
        '--json',
      ]);
      expect(r.code, id).toBe(1);
      expect(JSON.parse(r.stdout).error.reason_code, id).toBe('invalid_beads_id');
    }
    // no file of job bd-x can be another job's: every suffix pair is covered by the refusal
    for (const suffix of JOB_FILE_SUFFIXES) {
      for (const other of JOB_FILE_SUFFIXES) {
        const name = `bd-x${suffix}`;
        if (!name.endsWith(other) || other === suffix) continue;
        expect(aliasing).toContain(name.slice(0, -other.length));
      }
    }
    const fine = await sb.dx([
      'start',
      '--beads',
      'bd-x.1',
      '--provider',
      'fake',
      '--prompt-file',
      prompt,
      '--worktree',
      sb.worktree('bd-x.1'),
    ]);
    expect(fine.code, fine.stderr).toBe(0);
  });
});

describe('prune', () => {
  it('removes pid files that have no job record beside them', async () => {
    await finished('bd-real');
    fs.writeFileSync(path.join(dir(), 'bd-stray.pid'), 'junk\n');
    fs.writeFileSync(path.join(dir(), 'bd-stray2.pid'), '999999\n');
    const prune = await sb.dxJson(['prune'], PruneOutputSchema);
    expect(
      prune.json.actions
        .filter((a) => a.action === 'removed_orphan_pid')
        .map((a) => a.beads)
        .sort(),
    ).toEqual(['bd-stray', 'bd-stray2']);
    expect(fs.existsSync(path.join(dir(), 'bd-stray.pid'))).toBe(false);
    expect(fs.existsSync(path.join(dir(), 'bd-real.meta'))).toBe(true);
    const watchdog = await sb.dxJson(['watchdog', '--once'], WatchdogOutputSchema);
    expect(watchdog.code).toBe(0);
  });
});
