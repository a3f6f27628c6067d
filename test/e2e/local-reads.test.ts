import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckOutputSchema, DxRunnerClient, DxRunnerError, LocalReads } from '@dx/core';
import { CLI_BIN } from '../helpers/paths.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

const KEY = 'zk-test-SECRET-local-reads-0123456789';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox({ ZHIPU_API_KEY: KEY });
});
afterEach(async () => {
  await sb.cleanup();
});

/** elapsed_sec is measured at the moment of each read; everything else must be equal. */
const settled = <T extends { elapsed_sec: number | null }>(v: T) => ({ ...v, elapsed_sec: 0 });

describe('in-process reads (what dx-batch uses for the local dx-runner)', () => {
  it('answer check, status, a status list, report and logs exactly as dx-runner --json does, redacted the same', async () => {
    for (const beads of ['bd-lr1', 'bd-lr2']) {
      const r = await sb.startFake(beads, [
        { message: `working; key \${env:ZHIPU_API_KEY}` },
        { write: 'done.txt', content: 'x\n' },
        { result: `finished ${beads}; my key is \${env:ZHIPU_API_KEY}` },
        { exit: 0 },
      ]);
      expect(r.code).toBe(0);
    }
    for (const beads of ['bd-lr1', 'bd-lr2'])
      await waitFor(
        async () => (await sb.dxJson(['check', beads], CheckOutputSchema)).json.outcome_state !== null,
        `${beads} done`,
      );

    const viaProcess = new DxRunnerClient({ command: [process.execPath, CLI_BIN], env: sb.env });
    const inProcess = new DxRunnerClient({
      command: [process.execPath, CLI_BIN],
      env: sb.env,
      localReads: new LocalReads(sb.env),
    });

    const [a, b] = [await viaProcess.check('bd-lr1'), await inProcess.check('bd-lr1')];
    expect(settled(b.view)).toEqual(settled(a.view));
    expect(b.exitCode).toBe(a.exitCode);

    const listed = [
      await viaProcess.checkMany(['bd-lr2', 'bd-none', 'bd-lr1']),
      await inProcess.checkMany(['bd-lr2', 'bd-none', 'bd-lr1']),
    ];
    expect(listed[1].missing).toEqual(['bd-none']);
    expect(listed[1].missing).toEqual(listed[0].missing);
    expect(listed[1].jobs.map(settled)).toEqual(listed[0].jobs.map(settled));
    expect(listed[1].jobs.map((j) => [j.beads, j.state])).toEqual([
      ['bd-lr2', 'exited_ok'],
      ['bd-lr1', 'exited_ok'],
    ]);

    const statuses = [await viaProcess.status(5), await inProcess.status(5)];
    expect(statuses[1].state_dir).toBe(statuses[0].state_dir);
    expect(statuses[1].jobs.map(settled)).toEqual(statuses[0].jobs.map(settled));
    expect(statuses[1].jobs.map((j) => j.beads).sort()).toEqual(['bd-lr1', 'bd-lr2']);

    const reports = [await viaProcess.report('bd-lr1'), await inProcess.report('bd-lr1')];
    expect(settled(reports[1])).toEqual(settled(reports[0]));
    expect(reports[1].final_text).toContain('finished bd-lr1');
    const logs = [await viaProcess.logs('bd-lr1', 50), await inProcess.logs('bd-lr1', 50)];
    expect(logs[1]).toEqual(logs[0]);
    // a report that carries the log's tail: the same lines `logs` gives, either way
    const withTail = [await viaProcess.report('bd-lr1', 50), await inProcess.report('bd-lr1', 50)];
    expect(withTail[0].log_tail).toEqual(logs[0].lines);
    expect(settled(withTail[1])).toEqual(settled(withTail[0]));

    // a dx-runner from before --log-lines refuses the flag as any unknown flag: the client then asks
    // for the report and the logs in two calls, and the caller sees the same report
    const older = path.join(sb.dir, 'older-dx-runner.mjs');
    fs.writeFileSync(
      older,
      `import { spawnSync } from 'node:child_process';
const args = process.argv.slice(2);
if (args.includes('--log-lines')) {
  const error = {
    message: 'Nonexistent flag: --log-lines',
    exit_code: 1,
    reason_code: 'usage',
    next_action: 'see_--help',
    next_action_text: 'Run the command with \\\`--help\\\` for its usage.',
  };
  process.stdout.write(JSON.stringify({ error, json_contract_version: 1 }, null, 2) + '\\n');
  process.exit(1);
}
const r = spawnSync(process.execPath, [${JSON.stringify(CLI_BIN)}, ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
`,
    );
    const viaOlder = new DxRunnerClient({ command: [process.execPath, older], env: sb.env });
    const fromOlder = await viaOlder.report('bd-lr1', 50);
    expect(fromOlder.log_tail).toEqual(logs[0].lines);
    expect(settled(fromOlder)).toEqual(settled(withTail[0]));

    // the key never comes back, in-process or not
    expect(JSON.stringify([b, listed[1], reports[1], logs[1], withTail])).not.toContain(KEY);
    expect(JSON.stringify(logs[1])).toContain('working; key');

    // a job nobody started is the same error either way
    const errors = await Promise.all(
      [viaProcess, inProcess].map((c) =>
        c.check('bd-none').then(
          () => null,
          (err: unknown) => err,
        ),
      ),
    );
    for (const err of errors) expect(err).toBeInstanceOf(DxRunnerError);
    expect((errors[1] as DxRunnerError).reasonCode).toBe((errors[0] as DxRunnerError).reasonCode);
    expect((errors[1] as DxRunnerError).reasonCode).toBe('job_not_found');
  });

  it('name the jobs with live processes exactly as status does, in-process or not', async () => {
    expect((await sb.startFake('bd-done', [{ message: 'hi' }, { result: 'done' }, { exit: 0 }])).code).toBe(0);
    await waitFor(
      async () => (await sb.dxJson(['check', 'bd-done'], CheckOutputSchema)).json.outcome_state !== null,
      'bd-done done',
    );
    expect((await sb.startFake('bd-hang', [{ message: 'working' }, { hang: true }])).code).toBe(0);
    try {
      const viaProcess = new DxRunnerClient({ command: [process.execPath, CLI_BIN], env: sb.env });
      const inProcess = new DxRunnerClient({
        command: [process.execPath, CLI_BIN],
        env: sb.env,
        localReads: new LocalReads(sb.env),
      });
      // once the agent has said its line it hangs: wait until its view stops changing, then read it both ways
      let previous = '';
      await waitFor(
        async () => {
          const rows = (await inProcess.jobsWithProcesses()).map(settled);
          const now = JSON.stringify(rows);
          const stable = rows.some((j) => j.pid !== null && j.events > 0) && now === previous;
          previous = now;
          return stable;
        },
        'the hanging agent settled',
        20_000,
        300,
      );
      const [a, b] = [await viaProcess.jobsWithProcesses(), await inProcess.jobsWithProcesses()];
      expect(b.map(settled)).toEqual(a.map(settled));
      expect(b.map((j) => [j.beads, j.state, typeof j.pid, typeof j.watcher_pid])).toEqual([
        ['bd-hang', expect.any(String), 'number', 'number'],
      ]);
    } finally {
      await sb.dx(['stop', '--beads', 'bd-hang']);
    }
  });
});
