import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import {
  CheckOutputSchema,
  jobPaths,
  JobReportSchema,
  OutcomeSchema,
  parseKv,
  ScopeGateOutputSchema,
  StartOutputSchema,
  StatusOutputSchema,
  WaitOutputSchema,
} from '@dx/core';
import { CLI_BIN } from '../helpers/paths.js';
import {
  cmdlinesContaining,
  createSandbox,
  git,
  hangingCleanFilter,
  processExists,
  waitFor,
  type Sandbox,
} from '../helpers/sandbox.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

function outcomeOf(provider: string, beads: string) {
  const file = path.join(sb.state, provider, `${beads}.outcome`);
  if (!fs.existsSync(file)) return undefined;
  return OutcomeSchema.parse(parseKv(fs.readFileSync(file, 'utf8')));
}

async function check(beads: string, extra: string[] = []) {
  return sb.dxJson(['check', '--beads', beads, ...extra], CheckOutputSchema);
}

/** A `dx-runner` command (start, restart) as a process of its own, SIGINTed (Ctrl-C) once `ready()` says so. */
async function interruptedStart(
  args: string[],
  ready: () => boolean,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI_BIN, ...args], {
    env: { ...sb.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // a process the signal itself ended reads as the shell shows it: 128 + its number
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code, signal) => resolve(signal === 'SIGINT' ? 130 : code)),
  );
  try {
    await waitFor(() => ready() || undefined, 'the moment to press Ctrl-C', 20_000);
    child.kill('SIGINT');
    const code = await Promise.race([
      exited,
      new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 10_000)),
    ]);
    expect(code, `still running 10 s after Ctrl-C\n${stderr}`).not.toBe('hung');
    return { code: code as number | null, stdout, stderr };
  } finally {
    child.kill('SIGKILL');
  }
}

/** A fake job started as the operator whose HOME (and XDG config dir) is `operatorHome`; its log once it ended. */
async function runAsOperator(
  beads: string,
  steps: unknown[],
  operatorHome: string,
  env: Record<string, string> = {},
): Promise<{ worktree: string; log: string }> {
  const started = await sb.startFake(beads, steps, [], {
    env: { HOME: operatorHome, XDG_CONFIG_HOME: path.join(operatorHome, '.config'), ...env },
  });
  expect(started.code, started.stderr).toBe(0);
  await sb.dxJson(['wait', beads], WaitOutputSchema);
  return { worktree: started.worktree, log: fs.readFileSync(path.join(sb.state, 'fake', `${beads}.log`), 'utf8') };
}
describe('job lifecycle through the built CLI', () => {
  it('goes launching → healthy → exited_ok and records every outcome field', async () => {
    const wt = sb.worktree('bd-life');
    const prompt = sb.prompt({
      silent: true,
      steps: [
        { sleep: 1500 },
        { message: 'reading the task' },
        { write: 'src/feature.txt', content: 'feature\n' },
        { usage: { input: 120, output: 45, cost: 0.002 } },
        { message: 'waiting for the test to look' },
        { sleep: 1500 },
        { commit: 'feat: add feature\n\nFeature-Key: bd-life' },
        { result: 'implemented the feature' },
        { exit: 0 },
      ],
    });
    const start = await sb.dxJson(
      ['start', '--beads', 'bd-life', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt],
      StartOutputSchema,
    );
    expect(start.code).toBe(0);
    expect(start.json).toMatchObject({
      beads: 'bd-life',
      provider: 'fake',
      state: 'launching',
      dry_run: false,
      worktree: wt,
    });
    expect(start.json.pid).toBeGreaterThan(0);

    const first = await check('bd-life');
    expect(first.json.state).toBe('launching');
    expect(first.json.reason_code).toBe('awaiting_first_event');
    expect(first.code).toBe(0);

    const healthy = await waitFor(async () => {
      const c = await check('bd-life');
      return c.json.state === 'healthy' ? c : undefined;
    }, 'healthy');
    expect(healthy.json.reason_code).toBe('progressing');
    expect(healthy.json.events).toBeGreaterThan(0);
    expect(healthy.code).toBe(0);

    const done = await waitFor(async () => {
      const c = await check('bd-life');
      return c.json.state === 'exited_ok' ? c : undefined;
    }, 'exited_ok');
    expect(done.code).toBe(0);
    expect(done.json).toMatchObject({ reason_code: 'process_exit', exit_code: 0, outcome_state: 'success', pid: null });

    const outcome = outcomeOf('fake', 'bd-life')!;
    const head = git(wt, 'rev-parse', 'HEAD');
    expect(outcome).toMatchObject({
      beads: 'bd-life',
      provider: 'fake',
      exit_code: 0,
      state: 'success',
      reason_code: 'process_exit',
      retries: 0,
      selected_model: 'fake-model-1',
      fallback_reason: 'none',
      worktree: wt,
      cwd: sb.dir,
      provider_switch_from: [],
      commits: [head],
      changed_files: ['src/feature.txt'],
      end_head: head,
      tokens_input: 120,
      tokens_output: 45,
      final_text: 'implemented the feature',
    });
    expect(outcome.run_id).toMatch(/^\d{14}$/);
    expect(outcome.run_instance).toMatch(/^\d{14}-fake-\d+/);
    expect(outcome.duration_sec).toBeGreaterThanOrEqual(3);
    expect(Date.parse(outcome.completed_at)).toBeGreaterThan(
      Date.parse(start.json.run_instance ? outcome.started_at! : '0'),
    );
    expect(outcome.host).not.toBe('');
    expect(outcome.mutations).toBe(1);
    // operators' scripts read these keys with grep: plain key=value lines
    const raw = fs.readFileSync(path.join(sb.state, 'fake', 'bd-life.outcome'), 'utf8');
    for (const key of [
      'beads',
      'provider',
      'run_id',
      'exit_code',
      'state',
      'reason_code',
      'completed_at',
      'duration_sec',
      'retries',
      'selected_model',
      'fallback_reason',
      'run_instance',
      'host',
      'cwd',
      'worktree',
      'provider_switch_from',
    ]) {
      expect(raw).toMatch(new RegExp(`^${key}=`, 'm'));
    }
    // the pid file goes away with the job; the log holds the CLI's raw output
    expect(fs.existsSync(path.join(sb.state, 'fake', 'bd-life.pid'))).toBe(false);
    expect(fs.readFileSync(path.join(sb.state, 'fake', 'bd-life.log'), 'utf8')).toContain('"type":"result"');
  });

  it('Ctrl-C during start or restart: before the hand-over nothing runs; after it the job runs and it says so', async () => {
    // once the job is handed to its watcher (its meta written), it is on record and runs
    const meta = path.join(sb.state, 'fake', 'bd-ctrlc.meta');
    const after = await interruptedStart(
      sb.fakeStartArgs('bd-ctrlc', [{ message: 'working' }, { hang: true }]),
      () => fs.existsSync(meta),
      // the watcher takes its time to acknowledge: Ctrl-C lands while start waits for it
      { FAKE_WATCHER_LOAD_DELAY_MS: '3000' },
    );
    expect(after.code, after.stderr).toBe(130);
    expect(after.stdout).toMatch(/^started beads=bd-ctrlc provider=fake pid=\d+/);
    expect(after.stderr.trim()).toBe(
      'Interrupted (SIGINT) after the launch: bd-ctrlc runs; dx-runner stop bd-ctrlc ends it',
    );
    expect((await check('bd-ctrlc')).json.state).toMatch(/launching|healthy/);

    // restart hands the next instance over the same way
    const instance = () => /^run_instance=(.*)$/m.exec(fs.readFileSync(meta, 'utf8'))?.[1];
    const first = instance();
    const restarted = await interruptedStart(['restart', 'bd-ctrlc'], () => instance() !== first, {
      FAKE_WATCHER_LOAD_DELAY_MS: '3000',
    });
    expect(restarted.code, restarted.stderr).toBe(130);
    expect(restarted.stdout).toMatch(/^restarted beads=bd-ctrlc provider=fake pid=\d+ retry=1/);
    expect(restarted.stderr.trim()).toBe(
      'Interrupted (SIGINT) after the launch: bd-ctrlc runs; dx-runner stop bd-ctrlc ends it',
    );
    expect((await check('bd-ctrlc')).json).toMatchObject({ state: expect.stringMatching(/launching|healthy/) });
    expect((await sb.dx(['stop', '--beads', 'bd-ctrlc'])).code).toBe(0);

    // before it, Ctrl-C ends the start at once, even while it reads the prompt from stdin
    const wt = sb.worktree('bd-ctrlc-early');
    const startedAt = Date.now();
    const before = await interruptedStart(
      ['start', '--beads', 'bd-ctrlc-early', '--provider', 'fake', '--prompt-file', '-', '--worktree', wt],
      () => Date.now() - startedAt > 1500,
    );
    expect(before.code).toBe(130);
    expect(before.stdout).toBe('');
    expect((await sb.dx(['check', '--beads', 'bd-ctrlc-early'])).code).toBe(1);
  });

  it('records exited_err with the provider reason and exits 3', async () => {
    const wt = sb.worktree('bd-err');
    const prompt = sb.prompt({
      steps: [
        { message: 'calling the model' },
        { error: { class: 'rate_limited', reason: 'fake_rate_limited', text: 'Rate limit reached for requests' } },
        { exit: 1 },
      ],
    });
    expect(
      (await sb.dx(['start', '--beads', 'bd-err', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt]))
        .code,
    ).toBe(0);
    const done = await waitFor(async () => {
      const c = await check('bd-err');
      return c.json.state === 'exited_err' ? c : undefined;
    }, 'exited_err');
    expect(done.code).toBe(3);
    expect(done.json.reason_code).toBe('fake_rate_limited');
    expect(done.json.next_action).toBe('retry_backoff_or_switch_provider');
    expect(outcomeOf('fake', 'bd-err')).toMatchObject({
      exit_code: 1,
      state: 'failed',
      failure_class: 'rate_limited',
      summary: 'Rate limit reached for requests',
    });
    const human = await sb.dx(['check', '--beads', 'bd-err']);
    expect(human.code).toBe(3);
    expect(human.stdout).toContain('bd-err: exited_err (fake_rate_limited)');
  });

  it('calls an exit 0 that changed nothing no_op (exit 23), never success', async () => {
    const wt = sb.worktree('bd-noop');
    const prompt = sb.prompt({ steps: [{ message: 'looked around' }, { result: 'nothing to do' }, { exit: 0 }] });
    await sb.dx(['start', '--beads', 'bd-noop', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt]);
    const done = await waitFor(async () => {
      const c = await check('bd-noop');
      return c.json.outcome_state ? c : undefined;
    }, 'outcome');
    expect(done.json.state).toBe('no_op');
    expect(done.json.reason_code).toBe('exit_zero_no_mutations');
    expect(done.code).toBe(23);
  });

  it('does not count files that were already dirty before launch as the agent’s work', async () => {
    const wt = sb.worktree('bd-dirty');
    fs.writeFileSync(path.join(wt, 'preexisting.txt'), 'left by a human\n');
    const prompt = sb.prompt({ steps: [{ message: 'nothing' }, { result: 'done' }, { exit: 0 }] });
    await sb.dx(['start', '--beads', 'bd-dirty', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt]);
    const done = await waitFor(async () => {
      const c = await check('bd-dirty');
      return c.json.outcome_state !== null ? c : undefined;
    }, 'outcome');
    expect(done.json.state).toBe('no_op');
  });

  it('reports writes refused by the CLI while it exits 0 as no_op with its own reason', async () => {
    const wt = sb.worktree('bd-refused');
    const prompt = sb.prompt({
      steps: [{ message: 'trying to write' }, { refuse_write: 'src/a.ts' }, { result: 'could not write' }, { exit: 0 }],
    });
    await sb.dx(['start', '--beads', 'bd-refused', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt]);
    const done = await waitFor(async () => {
      const c = await check('bd-refused');
      return c.json.outcome_state ? c : undefined;
    }, 'outcome');
    expect(done.json).toMatchObject({
      state: 'no_op',
      reason_code: 'writes_refused_no_mutations',
      next_action: 'grant_the_agent_write_permission_then_restart',
      next_action_text: 'The agent was refused writes: give it write permission, then restart.',
    });
  });

  it('records a file named with a backslash or a line break among the changes, not a lost watcher', async () => {
    // such a name once made the outcome record unreadable to its own writer: the watcher refused to
    // write it and the successful job read as watcher_lost
    const names = ['C:\\tmp\\new.txt', 'two\nlines.txt'];
    const r = await sb.startFake('bd-odd-names', [...names.map((n) => ({ write: n })), { exit: 0 }]);
    expect(r.code).toBe(0);
    const waited = await sb.dxJson(['wait', 'bd-odd-names'], WaitOutputSchema);
    expect(waited.json).toMatchObject({ state: 'exited_ok', reason_code: 'process_exit' });
    const report = await sb.dxJson(['report', '--beads', 'bd-odd-names'], JobReportSchema);
    expect([...report.json.evidence.changed_files].sort()).toEqual([...names].sort());
  });

  it('a provider reporting a fractional token count still gets its job on record, the count whole', async () => {
    // the fake provider's parser passes the agent's numbers through as a plugin's might: 10.5 tokens
    // once made both the heartbeat and the outcome unwritable, and the successful job read as watcher_lost
    const steps = [{ usage: { input: 10.5, output: 3, cost: 0.25 } }, { write: 'done.txt' }, { exit: 0 }];
    expect((await sb.startFake('bd-fraction', steps)).code).toBe(0);
    const waited = await sb.dxJson(['wait', 'bd-fraction'], WaitOutputSchema);
    expect(waited.json).toMatchObject({ state: 'exited_ok', reason_code: 'process_exit' });
    const report = await sb.dxJson(['report', '--beads', 'bd-fraction'], JobReportSchema);
    expect(report.json.usage).toMatchObject({ tokens_input: 11, tokens_output: 3, cost_usd: 0.25 });
  });

  it('a provider plugin that breaks its contract (no events, a null event, no classification) costs no outcome', async () => {
    // each once threw inside the watcher: the job read as watcher_lost whatever it did
    const cases = [
      ['parse-nothing', [{ message: 'hi' }, { write: 'a.txt' }, { exit: 0 }], 'exited_ok', 'process_exit'],
      ['parse-null-event', [{ message: 'hi' }, { write: 'a.txt' }, { exit: 0 }], 'exited_ok', 'process_exit'],
      ['classify-nothing', [{ message: 'hi' }, { exit: 4 }], 'exited_err', 'process_exit_nonzero'],
      ['classify-odd-fields', [{ message: 'hi' }, { exit: 4 }], 'exited_err', 'fake_odd'],
    ] as const;
    for (const [bug, steps, state, reason] of cases) {
      const beads = `bd-${bug}`;
      expect((await sb.startFake(beads, [...steps], [], { env: { FAKE_PLUGIN_BUG: bug } })).code).toBe(0);
      const waited = await sb.dxJson(['wait', beads], WaitOutputSchema);
      expect(waited.json, bug).toMatchObject({ state, reason_code: reason });
    }
  });

  it('a plugin final event of odd kinds still reads as a final result while the CLI lingers', async () => {
    // its `ok: "yes"` once made every later heartbeat unwritable: the job read as progressing
    const steps = [{ write: 'a.txt' }, { result: 'done' }, { sleep: 4000 }, { exit: 0 }];
    const started = await sb.startFake('bd-odd-final', steps, [], { env: { FAKE_PLUGIN_BUG: 'odd-final' } });
    expect(started.code).toBe(0);
    const lingering = await waitFor(async () => {
      const c = await check('bd-odd-final');
      return c.json.reason_code === 'finishing_after_final_result' ? c : undefined;
    }, 'the final result on record');
    expect(lingering.json.state).toBe('healthy');
    const waited = await sb.dxJson(['wait', 'bd-odd-final'], WaitOutputSchema);
    expect(waited.json).toMatchObject({ state: 'exited_ok' });
  });

  it('a clean exit after the worktree was removed under the job is worktree_gone, not no_op', async () => {
    const started = await sb.startFake('bd-gone', [
      { message: 'working' },
      { sleep: 1500 },
      { result: 'done' },
      { exit: 0 },
    ]);
    expect(started.code).toBe(0);
    await waitFor(async () => (await check('bd-gone')).json.state === 'healthy', 'the agent at work');
    fs.rmSync(started.worktree, { recursive: true, force: true });
    const waited = await sb.dxJson(['wait', 'bd-gone'], WaitOutputSchema);
    expect(waited.json).toMatchObject({
      state: 'exited_err',
      reason_code: 'worktree_gone',
      next_action: 'find_what_removed_the_worktree_then_restart',
    });
    expect(waited.code).toBe(3);
  });

  it('an agent whose worktree is removed under it is ended as worktree_gone, not left running', async () => {
    const started = await sb.startFake('bd-gone-live', [{ message: 'working' }, { hang: true }], [], {
      env: { DX_RUNNER_MUTATION_POLL_SEC: '0.5' },
    });
    expect(started.code).toBe(0);
    await waitFor(async () => (await check('bd-gone-live')).json.state === 'healthy', 'the agent at work');
    fs.rmSync(started.worktree, { recursive: true, force: true });
    const waited = await sb.dxJson(['wait', 'bd-gone-live', '--timeout', '30'], WaitOutputSchema);
    expect(waited.json).toMatchObject({
      state: 'exited_err',
      reason_code: 'worktree_gone',
      next_action: 'find_what_removed_the_worktree_then_restart',
    });
    const report = await sb.dxJson(['report', '--beads', 'bd-gone-live'], JobReportSchema);
    expect(report.json).toMatchObject({ outcome_state: 'failed', reason_code: 'worktree_gone' });
  });

  it('an agent whose worktree is removed and made again at the same path (a fresh clone) is ended as worktree_replaced', async () => {
    const started = await sb.startFake('bd-recloned', [{ message: 'working' }, { hang: true }], [], {
      env: { DX_RUNNER_MUTATION_POLL_SEC: '0.5' },
    });
    expect(started.code).toBe(0);
    await waitFor(async () => (await check('bd-recloned')).json.state === 'healthy', 'the agent at work');
    // as a clean-up script's `rm -rf` and fresh clone would, in one go: never seen missing
    const fresh = `${started.worktree}.fresh`;
    fs.mkdirSync(fresh);
    git(fresh, 'init', '-q');
    fs.writeFileSync(path.join(fresh, 'README.md'), '# another checkout\n');
    git(fresh, 'add', '-A');
    git(fresh, 'commit', '-q', '-m', 'another history');
    fs.rmSync(started.worktree, { recursive: true, force: true });
    fs.renameSync(fresh, started.worktree);
    const waited = await sb.dxJson(['wait', 'bd-recloned', '--timeout', '30'], WaitOutputSchema);
    expect(waited.json).toMatchObject({
      state: 'exited_err',
      reason_code: 'worktree_replaced',
      next_action: 'find_what_replaced_the_worktree_then_restart',
    });
  });

  it('an agent whose state root is removed under it (a clean-up) is ended, and its outcome says why', async () => {
    const started = await sb.startFake('bd-unrecorded', [{ message: 'working' }, { hang: true }], [], {
      env: { DX_RUNNER_MUTATION_POLL_SEC: '0.5' },
    });
    expect(started.code).toBe(0);
    await waitFor(async () => (await check('bd-unrecorded')).json.state === 'healthy', 'the agent at work');
    const agentPid = Number(fs.readFileSync(jobPaths(sb.state, 'fake', 'bd-unrecorded').pid, 'utf8'));
    // gone from where every command looks, in one step: a recursive remove would race the
    // watcher's own writes (ENOTEMPTY); the moved tree is removed with the sandbox
    fs.renameSync(sb.state, path.join(sb.dir, 'state-cleaned-away'));
    // no status, stop or owner could see it any more: it must not run on unseen
    const ended = await waitFor(async () => {
      const c = await sb.dx(['check', '--beads', 'bd-unrecorded', '--json']);
      return c.code === 3 ? c : undefined;
    }, 'the unrecorded agent ended');
    expect(JSON.parse(ended.stdout)).toMatchObject({
      state: 'exited_err',
      reason_code: 'records_removed',
      next_action: 'find_what_removed_the_job_records_then_restart',
      outcome_state: 'failed',
    });
    expect(processExists(agentPid)).toBe(false);
  });

  it('an agent whose job files are removed and the job started again in its worktree is ended, the new job kept', async () => {
    const env = { DX_RUNNER_MUTATION_POLL_SEC: '0.5' };
    const started = await sb.startFake('bd-replaced', [{ message: 'first' }, { hang: true }], [], { env });
    expect(started.code).toBe(0);
    await waitFor(async () => (await check('bd-replaced')).json.state === 'healthy', 'the first agent at work');
    const paths = jobPaths(sb.state, 'fake', 'bd-replaced');
    const firstAgent = Number(fs.readFileSync(paths.pid, 'utf8'));
    for (const file of [paths.meta, paths.pid, paths.heartbeat]) fs.rmSync(file);
    const again = await sb.dx(
      sb.fakeStartArgs('bd-replaced', [{ message: 'second' }, { hang: true }], started.worktree),
      {
        env,
      },
    );
    expect(again.code, again.stderr).toBe(0);
    // two agents in one worktree would each count the other's changes: the unseen first one ends
    await waitFor(() => !processExists(firstAgent), 'the first agent ended', 20_000);
    const second = await check('bd-replaced');
    expect(second.json).toMatchObject({ state: 'healthy', outcome_state: null });
    expect(outcomeOf('fake', 'bd-replaced')).toBeUndefined();
  });

  it("a git clean filter that hangs bounds the watcher's worktree check: the job ends, its changes called unknown", async () => {
    const filtered = (name: string) => {
      const wt = sb.worktree(name);
      // a clean filter that hangs on what the agent writes (its edit keeps the file's size)
      hangingCleanFilter(wt, 60);
      return wt;
    };
    const env = { DX_RUNNER_GIT_TIMEOUT_SEC: '1', DX_RUNNER_MUTATION_POLL_SEC: '0.5' };
    const wt = filtered('bd-filter');
    const edit = { write: 'notes.txt', content: 'HANG\n' };
    // one agent ends on its own: its final check does not answer
    const started = await sb.dx(sb.fakeStartArgs('bd-filter', [edit, { result: 'done' }, { exit: 0 }], wt), { env });
    expect(started.code, started.stderr).toBe(0);
    // one works on: after two checks in a row that git did not answer, nothing it does can be
    // measured, and it is ended rather than left to spend the night
    const working = await sb.dx(sb.fakeStartArgs('bd-filter-on', [edit, { hang: true }], filtered('bd-filter-on')), {
      env,
    });
    expect(working.code, working.stderr).toBe(0);
    for (const beads of ['bd-filter', 'bd-filter-on']) {
      const waited = await sb.dxJson(['wait', beads, '--timeout', '60'], WaitOutputSchema);
      expect(waited.json).toMatchObject({
        state: 'exited_err',
        reason_code: 'git_status_timed_out',
        next_action: 'find_the_git_filter_or_hook_that_hangs_then_restart',
      });
    }
    // the watcher ended the working one, and its record says why
    expect(outcomeOf('fake', 'bd-filter-on')).toMatchObject({ finalized_by: 'worktree_unreadable' });
    // git and the filter it ran were ended with it
    expect(cmdlinesContaining(['sleep 60'])).toEqual([]);
    // nor does the scope gate pass on the empty list an unanswered git would give
    const scope = await sb.dxJson(['scope-gate', '--beads', 'bd-filter'], ScopeGateOutputSchema, { env });
    expect(scope.code).toBe(1);
    expect(scope.json).toMatchObject({ passed: false, reason_code: 'worktree_unreadable' });
    expect(scope.json.details).toContain('did not answer within 1000 ms');
    // a worktree git cannot read at the start is refused then, not walked file by file
    const refused = await sb.dx(sb.fakeStartArgs('bd-filter-2', [{ exit: 0 }], wt), { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('did not answer within 1000 ms (DX_RUNNER_GIT_TIMEOUT_SEC)');
  });

  it('a read-only task (--expect-no-changes) that changed files is exited_ok but says so', async () => {
    const steps = [{ write: 'src/edited-by-the-reviewer.ts' }, { result: 'LGTM' }, { exit: 0 }];
    expect((await sb.startFake('bd-reviewer', steps, ['--expect-no-changes'])).code).toBe(0);
    const waited = await sb.dxJson(['wait', 'bd-reviewer'], WaitOutputSchema);
    expect(waited.json).toMatchObject({
      state: 'exited_ok',
      reason_code: 'read_only_changed',
      next_action: 'look_at_what_the_read_only_task_changed',
    });
    expect((await sb.startFake('bd-reader', [{ result: 'LGTM' }, { exit: 0 }], ['--expect-no-changes'])).code).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-reader'], WaitOutputSchema)).json.reason_code).toBe('read_only_ok');
  });

  it('an agent whose repository is removed under it (rm -rf .git) is ended as git_repository_gone, not no_op', async () => {
    const started = await sb.startFake('bd-nogit', [{ write: 'a.txt' }, { hang: true }], [], {
      env: { DX_RUNNER_MUTATION_POLL_SEC: '0.5' },
    });
    expect(started.code).toBe(0);
    await waitFor(async () => (await check('bd-nogit')).json.mutations === 1, 'the agent’s write seen');
    fs.rmSync(path.join(started.worktree, '.git'), { recursive: true, force: true });
    const waited = await sb.dxJson(['wait', 'bd-nogit', '--timeout', '30'], WaitOutputSchema);
    expect(waited.json).toMatchObject({
      state: 'exited_err',
      reason_code: 'git_repository_gone',
      next_action: 'find_what_removed_the_repository_then_restart',
    });
  });

  it("started from a git hook (GIT_DIR, GIT_INDEX_FILE of the caller's repository), the job's git is its worktree's", async () => {
    const caller = sb.worktree('caller');
    const callerHead = git(caller, 'rev-parse', 'HEAD');
    const hookEnv = { GIT_DIR: path.join(caller, '.git'), GIT_INDEX_FILE: path.join(caller, '.git', 'index') };
    const started = await sb.startFake('bd-hook', [{ write: 'src/new.ts' }, { commit: 'feat: new' }, { exit: 0 }], [], {
      env: hookEnv,
    });
    expect(started.code, started.stderr).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-hook'], WaitOutputSchema)).json.state).toBe('exited_ok');
    // the agent committed into the job's worktree, and the caller's repository is as it was
    expect(git(started.worktree, 'log', '-1', '--format=%s').trim()).toBe('feat: new');
    expect(git(caller, 'rev-parse', 'HEAD')).toBe(callerHead);
    const report = await sb.dxJson(['report', '--beads', 'bd-hook'], JobReportSchema);
    expect(report.json.evidence).toMatchObject({ changed_files: ['src/new.ts'], commits: [expect.any(String)] });
    // and the gates, run from the same hook, read the job's worktree
    const scope = await sb.dx(['scope-gate', '--beads', 'bd-hook', '--allowed-paths-file', sb.prompt('src/\n')], {
      env: hookEnv,
    });
    expect(scope.code, scope.stdout + scope.stderr).toBe(0);
  });

  it("the agent's git commits with the operator's identity, and its global settings stay in its private HOME", async () => {
    // the operator's own git settings, where git looks for them: ~/.gitconfig and ~/.config/git/config
    const operatorHome = path.join(sb.dir, 'operator-home');
    fs.mkdirSync(path.join(operatorHome, '.config', 'git'), { recursive: true });
    const gitconfig = '[user]\n\tname = Op Erator\n[alias]\n\tci = commit\n';
    fs.writeFileSync(path.join(operatorHome, '.gitconfig'), gitconfig);
    fs.writeFileSync(path.join(operatorHome, '.config', 'git', 'config'), '[user]\n\temail = op@example.com\n');
    const started = await sb.startFake(
      'bd-identity',
      [
        { write: 'src/new.ts' },
        { run: ['git', 'add', '-A'] },
        { run: ['git', 'ci', '-q', '-m', 'feat: new'] },
        { run: ['git', 'config', '--global', 'core.editor', 'nano'] },
        { exit: 0 },
      ],
      [],
      { env: { HOME: operatorHome, XDG_CONFIG_HOME: path.join(operatorHome, '.config') } },
    );
    expect(started.code, started.stderr).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-identity'], WaitOutputSchema)).json.state).toBe('exited_ok');
    expect(git(started.worktree, 'log', '-1', '--format=%an <%ae> %s').trim()).toBe(
      'Op Erator <op@example.com> feat: new',
    );
    const report = await sb.dxJson(['report', '--beads', 'bd-identity'], JobReportSchema);
    expect(report.json.evidence).toMatchObject({ changed_files: ['src/new.ts'], commits: [expect.any(String)] });
    // the agent's `git config --global` went to its private HOME (removed with the job), not the operator's
    expect(fs.readFileSync(path.join(operatorHome, '.gitconfig'), 'utf8')).toBe(gitconfig);
    expect(fs.existsSync(path.join(sb.state, 'fake', 'bd-identity.home'))).toBe(false);
  });

  it("the agent's commit runs the operator's global hooks and leaves out what the operator's global ignore file names", async () => {
    const operatorHome = path.join(sb.dir, 'hooks-operator');
    fs.mkdirSync(path.join(operatorHome, '.config', 'git'), { recursive: true });
    fs.mkdirSync(path.join(operatorHome, '.githooks'));
    fs.writeFileSync(path.join(operatorHome, '.config', 'git', 'ignore'), '.env\n');
    const marker = path.join(sb.dir, 'pre-commit-ran');
    fs.writeFileSync(path.join(operatorHome, '.githooks', 'pre-commit'), `#!/bin/sh\necho ran >> '${marker}'\n`, {
      mode: 0o755,
    });
    const gitconfig = '[user]\n\tname = Op\n\temail = op@example.com\n[core]\n\thooksPath = ~/.githooks\n';
    fs.writeFileSync(path.join(operatorHome, '.gitconfig'), gitconfig);
    const started = await sb.startFake(
      'bd-hooks',
      [
        { write: '.env', content: 'API_TOKEN=not-for-the-repository\n' },
        { write: 'src/a.ts' },
        { run: ['git', 'add', '-A'] },
        { run: ['git', 'commit', '-q', '-m', 'feat: a'] },
        { exit: 0 },
      ],
      [],
      { env: { HOME: operatorHome, XDG_CONFIG_HOME: path.join(operatorHome, '.config') } },
    );
    expect(started.code, started.stderr).toBe(0);
    expect((await sb.dxJson(['wait', 'bd-hooks'], WaitOutputSchema)).json.state).toBe('exited_ok');
    expect(git(started.worktree, 'show', '--name-only', '--format=%s', 'HEAD').trim().split('\n')).toEqual([
      'feat: a',
      '',
      'src/a.ts',
    ]);
    expect(fs.readFileSync(marker, 'utf8')).toBe('ran\n');
  });

  // gpg comes from apt in CI (.ci/run); a machine without it skips this outside CI
  const hasGpg = spawnSync('gpg', ['--version']).status === 0;
  it.skipIf(!hasGpg && !process.env.CI)(
    "the agent's commits are signed as the operator's are: gpg's keyring and an ssh key named from ~",
    async () => {
      const operatorHome = path.join(sb.dir, 'signing-operator');
      const gnupg = path.join(operatorHome, '.gnupg');
      fs.mkdirSync(gnupg, { recursive: true, mode: 0o700 });
      const gpg = (...args: string[]) =>
        execFileSync('gpg', ['--homedir', gnupg, '--batch', '--quiet', ...args], { encoding: 'utf8', stdio: 'pipe' });
      try {
        gpg('--pinentry-mode', 'loopback', '--passphrase', '', '--quick-gen-key', 'Op <op@example.com>', 'ed25519');
        const fingerprint = /^fpr:+([0-9A-F]+):/m.exec(gpg('--list-secret-keys', '--with-colons'))![1];
        fs.mkdirSync(path.join(operatorHome, '.ssh'), { mode: 0o700 });
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(operatorHome, '.ssh', 'signing')]);
        const identity = '[user]\n\tname = Op\n\temail = op@example.com\n';
        const env = { HOME: operatorHome, XDG_CONFIG_HOME: path.join(operatorHome, '.config') };
        const commit = [
          { write: 'src/a.ts' },
          { run: ['git', 'add', '-A'] },
          { run: ['git', 'commit', '-q', '-m', 'feat: a'] },
          { exit: 0 },
        ];
        const signed = async (beads: string, gitconfig: string, verify: string[]) => {
          fs.writeFileSync(path.join(operatorHome, '.gitconfig'), gitconfig);
          const started = await sb.startFake(beads, commit, [], { env });
          expect(started.code, started.stderr).toBe(0);
          expect((await sb.dxJson(['wait', beads], WaitOutputSchema)).json.state).toBe('exited_ok');
          return execFileSync('git', ['-c', ...verify, 'log', '-1', '--format=%G? %s'], {
            cwd: started.worktree,
            encoding: 'utf8',
            env: { ...process.env, GNUPGHOME: gnupg },
          }).trim();
        };
        // openpgp: the key is in ~/.gnupg, which the private HOME hid ("gpg failed to sign the data")
        const openpgp = `${identity}\tsigningKey = ${fingerprint}\n[commit]\n\tgpgSign = true\n`;
        expect(await signed('bd-sign-gpg', openpgp, ['gpg.format=openpgp'])).toBe('G feat: a');
        // ssh: the key file named from ~ (found in the private HOME otherwise)
        const allowed = path.join(operatorHome, '.ssh', 'allowed_signers');
        const publicKey = fs.readFileSync(path.join(operatorHome, '.ssh', 'signing.pub'), 'utf8');
        fs.writeFileSync(allowed, `op@example.com ${publicKey}`);
        const ssh = `${identity}\tsigningKey = ~/.ssh/signing.pub\n[gpg]\n\tformat = ssh\n[commit]\n\tgpgSign = true\n`;
        expect(await signed('bd-sign-ssh', ssh, [`gpg.ssh.allowedSignersFile=${allowed}`])).toBe('G feat: a');
      } finally {
        // the gpg-agent gpg started for the operator's keyring (ended through its own socket)
        spawnSync('gpgconf', ['--homedir', gnupg, '--kill', 'gpg-agent']);
      }
    },
  );

  it("a dx-runner the agent runs finds the operator's state root and policy, not its private HOME's (it sees its own job)", async () => {
    // the operator names no state root: the default, under XDG_STATE_HOME, is the ledger
    fs.mkdirSync(path.join(sb.env.XDG_CONFIG_HOME, 'dx-runner'), { recursive: true });
    const policy = path.join(sb.env.XDG_CONFIG_HOME, 'dx-runner', 'policy.yaml');
    fs.writeFileSync(policy, 'defaults:\n  max_parallel: 3\n');
    const env = { DX_RUNNER_STATE_DIR: undefined as unknown as string };
    const started = await sb.startFake(
      'bd-dispatcher',
      [{ print_env: 'DX_POLICY_FILE' }, { run: [process.execPath, CLI_BIN, 'status', '--json'] }, { exit: 0 }],
      [],
      { env },
    );
    expect(started.code, started.stderr).toBe(0);
    const root = path.join(sb.env.XDG_STATE_HOME, 'dx-runner');
    await sb.dxJson(['wait', 'bd-dispatcher'], WaitOutputSchema, { env });
    const log = fs.readFileSync(path.join(root, 'fake', 'bd-dispatcher.log'), 'utf8');
    expect(log).toContain(`env DX_POLICY_FILE=${policy}\n`);
    const result = log.split('\n').find((line) => line.includes('"tool_result"'));
    const status = JSON.parse(JSON.parse(result ?? '{}').output) as {
      state_dir: string;
      jobs: Array<{ beads: string }>;
    };
    expect(status.state_dir).toBe(root);
    expect(status.jobs.map((j) => j.beads)).toContain('bd-dispatcher');
  });

  it("the agent's toolchains find the operator's homes (rustup, cargo, go, version managers, npm's, pip's and gpg's), not the private HOME", async () => {
    const operatorHome = path.join(sb.dir, 'toolchain-operator');
    for (const dir of [
      '.rustup',
      '.cargo',
      'go',
      '.config/pip',
      '.asdf',
      '.rbenv',
      '.volta',
      '.gnupg',
      '.config/go',
      '.npm',
      '.cache/pip',
      '.yarn/berry',
      '.cache/pypoetry',
      '.cache/pre-commit',
    ])
      fs.mkdirSync(path.join(operatorHome, dir), { recursive: true });
    fs.writeFileSync(path.join(operatorHome, '.npmrc'), 'registry=http://127.0.0.1:9/private/\n');
    fs.writeFileSync(path.join(operatorHome, '.config', 'pip', 'pip.conf'), '[global]\n');
    fs.writeFileSync(path.join(operatorHome, '.config', 'go', 'env'), 'GOPROXY=http://127.0.0.1:9/goproxy\n');
    // what `pip install --user` put in the operator's ~/.local, for the python3 on this machine
    const python = execFileSync(
      'python3',
      ['-c', 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}")'],
      {
        encoding: 'utf8',
      },
    ).trim();
    const userSite = path.join(operatorHome, '.local', 'lib', python, 'site-packages');
    fs.mkdirSync(userSite, { recursive: true });
    fs.writeFileSync(path.join(userSite, 'dx_user_module.py'), 'WHERE = "the operator\'s user site"\n');
    const variables = [
      'RUSTUP_HOME',
      'CARGO_HOME',
      'PYENV_ROOT',
      'GOPATH',
      'PIP_CONFIG_FILE',
      'ASDF_DATA_DIR',
      'RBENV_ROOT',
      'VOLTA_HOME',
      'GNUPGHOME',
      'NVM_DIR',
      'GOENV',
      'PIP_CACHE_DIR',
      'YARN_GLOBAL_FOLDER',
      'POETRY_CACHE_DIR',
      'PRE_COMMIT_HOME',
    ];
    const started = await sb.startFake(
      'bd-toolchains',
      [
        ...variables.map((name) => ({ print_env: name })),
        // real npm and python, as an agent's shell tool runs them
        { run: ['npm', 'config', 'get', 'registry'] },
        { run: ['npm', 'config', 'get', 'cache'] },
        { run: ['python3', '-c', 'import dx_user_module; print(dx_user_module.WHERE)'] },
        { exit: 0 },
      ],
      [],
      // the operator's own CARGO_HOME is kept; no ~/.pyenv, so none is named
      {
        env: {
          HOME: operatorHome,
          XDG_CONFIG_HOME: path.join(operatorHome, '.config'),
          XDG_CACHE_HOME: path.join(operatorHome, '.cache'),
          CARGO_HOME: '/opt/cargo',
          npm_config_update_notifier: 'false',
        },
      },
    );
    expect(started.code, started.stderr).toBe(0);
    await sb.dxJson(['wait', 'bd-toolchains'], WaitOutputSchema);
    const log = fs.readFileSync(path.join(sb.state, 'fake', 'bd-toolchains.log'), 'utf8');
    const printed = log.split('\n').filter((line) => line.startsWith('env '));
    expect(printed).toEqual([
      `env RUSTUP_HOME=${operatorHome}/.rustup`,
      'env CARGO_HOME=/opt/cargo',
      'env PYENV_ROOT=',
      `env GOPATH=${operatorHome}/go`,
      `env PIP_CONFIG_FILE=${operatorHome}/.config/pip/pip.conf`,
      `env ASDF_DATA_DIR=${operatorHome}/.asdf`,
      `env RBENV_ROOT=${operatorHome}/.rbenv`,
      `env VOLTA_HOME=${operatorHome}/.volta`,
      `env GNUPGHOME=${operatorHome}/.gnupg`,
      // no ~/.nvm: none named
      'env NVM_DIR=',
      `env GOENV=${operatorHome}/.config/go/env`,
      `env PIP_CACHE_DIR=${operatorHome}/.cache/pip`,
      `env YARN_GLOBAL_FOLDER=${operatorHome}/.yarn/berry`,
      `env POETRY_CACHE_DIR=${operatorHome}/.cache/pypoetry`,
      `env PRE_COMMIT_HOME=${operatorHome}/.cache/pre-commit`,
    ]);
    expect(log).toContain('"output":"http://127.0.0.1:9/private/\\n"');
    // the operator's download cache: not a cold one in the private HOME per job
    expect(log).toContain(`"output":"${operatorHome}/.npm\\n"`);
    expect(log).toContain(`"output":"the operator's user site\\n"`);
  });

  it("credentials in the operator's settings files the agent's tools read stay out of its log and report", async () => {
    const operatorHome = path.join(sb.dir, 'credentials-operator');
    fs.mkdirSync(path.join(operatorHome, '.config', 'pip'), { recursive: true });
    const npmToken = 'npm_operator_token_0123456789';
    const pipPassword = 'pip-operator-password-42';
    fs.writeFileSync(path.join(operatorHome, '.npmrc'), `//127.0.0.1:9/:_authToken=${npmToken}\n`);
    fs.writeFileSync(
      path.join(operatorHome, '.config', 'pip', 'pip.conf'),
      `[global]\nindex-url = https://op:${pipPassword}@127.0.0.1:9/simple\n`,
    );
    const { log } = await runAsOperator(
      'bd-settings-secrets',
      [
        { run: ['sh', '-c', 'cat "$NPM_CONFIG_USERCONFIG" "$PIP_CONFIG_FILE"'] },
        { result: `the registry token is ${npmToken}` },
        { exit: 0 },
      ],
      operatorHome,
    );
    expect(log).toContain('_authToken=[REDACTED]');
    expect(log).toContain('https://op:[REDACTED]@127.0.0.1:9/simple');
    const report = await sb.dx(['report', '--beads', 'bd-settings-secrets', '--json', '--log-lines', '50']);
    const outcome = fs.readFileSync(path.join(sb.state, 'fake', 'bd-settings-secrets.outcome'), 'utf8');
    for (const text of [log, report.stdout, outcome]) {
      expect(text).not.toContain(npmToken);
      expect(text).not.toContain(pipPassword);
    }
    expect(outcome).toContain('the registry token is [REDACTED]');
  });

  it("the agent's git push and gh find the operator's stored credentials (git's credential store, gh's hosts.yml), scrubbed", async () => {
    const operatorHome = path.join(sb.dir, 'forge-operator');
    fs.mkdirSync(path.join(operatorHome, '.config', 'gh'), { recursive: true });
    fs.mkdirSync(path.join(operatorHome, '.config', 'git'), { recursive: true });
    const pushToken = 'push-token-5f2b8e1c9a';
    const xdgToken = 'xdg-token-3d7a0b6e4c';
    const ghToken = 'gh-enterprise-token-71c3a9';
    fs.writeFileSync(path.join(operatorHome, '.gitconfig'), '[credential]\n\thelper = store\n');
    fs.writeFileSync(path.join(operatorHome, '.git-credentials'), `https://op:${pushToken}@git.example.com\n`, {
      mode: 0o600,
    });
    fs.writeFileSync(
      path.join(operatorHome, '.config', 'git', 'credentials'),
      `https://op2:${xdgToken}@other.example.com\n`,
      { mode: 0o600 },
    );
    fs.writeFileSync(
      path.join(operatorHome, '.config', 'gh', 'hosts.yml'),
      `github.example.com:\n    oauth_token: ${ghToken}\n    user: op\n`,
    );
    // what git's push asks its credential helpers, with the real git
    const fill = (host: string) => ({ run: ['git', 'credential', 'fill'], input: `protocol=https\nhost=${host}\n\n` });
    const { log } = await runAsOperator(
      'bd-forge',
      [
        fill('git.example.com'),
        fill('other.example.com'),
        { run: ['sh', '-c', 'cat "$GH_CONFIG_DIR/hosts.yml"'] },
        { exit: 0 },
      ],
      operatorHome,
      { GIT_TERMINAL_PROMPT: '0' },
    );
    expect(log).toContain('username=op\\npassword=[REDACTED]');
    expect(log).toContain('username=op2\\npassword=[REDACTED]');
    expect(log).toContain('oauth_token: [REDACTED]');
    const report = await sb.dx(['report', '--beads', 'bd-forge', '--json', '--log-lines', '50']);
    for (const text of [log, report.stdout])
      for (const token of [pushToken, xdgToken, ghToken]) expect(text).not.toContain(token);
  });

  // the pinned mise is installed with the real agent CLIs (skipped with them: DX_SKIP_REAL_CLIS=1)
  const toolsBin = inject('realCliBin');
  it.skipIf(!toolsBin)(
    "the agent's shell finds the tools the operator's version manager (mise) installed",
    async () => {
      const operatorHome = path.join(sb.dir, 'mise-operator');
      const operatorEnv = {
        HOME: operatorHome,
        XDG_CONFIG_HOME: path.join(operatorHome, '.config'),
        XDG_DATA_HOME: path.join(operatorHome, '.local', 'share'),
        XDG_STATE_HOME: path.join(operatorHome, '.local', 'state'),
        XDG_CACHE_HOME: path.join(operatorHome, '.cache'),
        MISE_OFFLINE: '1',
        MISE_YES: '1',
      };
      // the operator's node, as mise knows it: an install linked in, made the global default, shimmed
      const install = path.join(operatorHome, 'node-install');
      fs.mkdirSync(path.join(install, 'bin'), { recursive: true });
      fs.symlinkSync(process.execPath, path.join(install, 'bin', 'node'));
      const mise = (...args: string[]) =>
        execFileSync(path.join(toolsBin, 'mise'), args, { env: { ...process.env, ...operatorEnv }, stdio: 'pipe' });
      mise('link', 'node@99.0.0', install);
      mise('use', '-g', 'node@99.0.0');
      mise('reshim');
      const shims = path.join(operatorHome, '.local', 'share', 'mise', 'shims');
      // the agent's PATH holds the shims, mise and git, and no other node (mise would fall back to one)
      const gitOnly = path.join(operatorHome, 'git-only');
      fs.mkdirSync(gitOnly);
      const gitBinary = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
      fs.symlinkSync(gitBinary, path.join(gitOnly, 'git'));
      const started = await sb.startFake(
        'bd-mise',
        [{ run: ['node', '-e', 'console.log(`node ${process.version} through mise`)'] }, { exit: 0 }],
        [],
        { env: { ...operatorEnv, PATH: [shims, toolsBin, gitOnly].join(':') } },
      );
      expect(started.code, started.stderr).toBe(0);
      await sb.dxJson(['wait', 'bd-mise'], WaitOutputSchema);
      const log = fs.readFileSync(path.join(sb.state, 'fake', 'bd-mise.log'), 'utf8');
      expect(log).toContain(`node ${process.version} through mise`);
      expect(log).not.toContain('not a valid shim');
    },
  );

  it.skipIf(!toolsBin)(
    "the agent's yarn, asdf and uv read the operator's ~/.yarnrc.yml, ~/.tool-versions and uv.toml (copies), tokens scrubbed; yarn's cache is the operator's",
    async () => {
      const operatorHome = path.join(sb.dir, 'dotfiles-operator');
      fs.mkdirSync(path.join(operatorHome, '.yarn', 'berry'), { recursive: true });
      const token = 'yarn-operator-token-0123456789';
      const yarnrc = `npmRegistryServer: "http://127.0.0.1:9/yarn-registry"\nnpmAuthToken: "${token}"\n`;
      fs.writeFileSync(path.join(operatorHome, '.yarnrc.yml'), yarnrc);
      fs.writeFileSync(path.join(operatorHome, '.tool-versions'), 'nodejs 20.20.2\n');
      const uvPassword = 'uv-operator-password-42';
      fs.mkdirSync(path.join(operatorHome, '.config', 'uv'), { recursive: true });
      fs.writeFileSync(
        path.join(operatorHome, '.config', 'uv', 'uv.toml'),
        `[[index]]\nurl = "https://op:${uvPassword}@127.0.0.1:9/simple"\n`,
      );
      const { log } = await runAsOperator(
        'bd-dotfiles',
        [
          { run: [path.join(toolsBin, 'yarn'), 'config', 'get', 'npmRegistryServer'] },
          { run: [path.join(toolsBin, 'yarn'), 'config', 'get', 'cacheFolder'] },
          {
            run: [
              'sh',
              '-c',
              'cat "$HOME/.tool-versions" "$HOME/.yarnrc.yml" "$XDG_CONFIG_HOME/uv/uv.toml"; echo more >> "$HOME/.tool-versions"',
            ],
          },
          { exit: 0 },
        ],
        operatorHome,
      );
      expect(log).toContain('"output":"http://127.0.0.1:9/yarn-registry\\n"');
      // the operator's package cache, not a cold one in the private HOME per job
      expect(log).toContain(`"output":"${operatorHome}/.yarn/berry/cache\\n"`);
      expect(log).toContain('nodejs 20.20.2');
      expect(log).toContain('npmAuthToken: \\"[REDACTED]\\"');
      expect(log).toContain('https://op:[REDACTED]@127.0.0.1:9/simple');
      expect(log).not.toContain(token);
      expect(log).not.toContain(uvPassword);
      // copies: what the agent wrote there stayed in its private HOME
      expect(fs.readFileSync(path.join(operatorHome, '.tool-versions'), 'utf8')).toBe('nodejs 20.20.2\n');
    },
  );

  it('marks a job stalled when no provider event arrives within the threshold (exit 2)', async () => {
    const wt = sb.worktree('bd-stall');
    const prompt = sb.prompt({ steps: [{ message: 'thinking' }, { hang: true }] });
    await sb.dx(['start', '--beads', 'bd-stall', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt]);
    await waitFor(async () => (await check('bd-stall')).json.events > 0, 'first event');
    const stalled = await waitFor(async () => {
      const c = await check('bd-stall', ['--stall-minutes', '0.02']);
      return c.json.state === 'stalled' ? c : undefined;
    }, 'stalled');
    expect(stalled.code).toBe(2);
    expect(stalled.json.reason_code).toBe('no_progress_events');
    // the default threshold (20 min) still calls it healthy
    expect((await check('bd-stall')).json.state).toBe('healthy');
  });

  it('a tool working silently past the stall threshold or the no-mutation timeout (a long build) is neither stalled nor no_op; an idle one is', async () => {
    const env = { DX_RUNNER_MUTATION_POLL_SEC: '0.5', DX_RUNNER_NO_MUTATION_TIMEOUT_MINUTES: '0.02' };
    // as an agent's shell tool runs `npm run build`: no event until it ends, CPU all the while
    const build = [process.execPath, '-e', 'const end = Date.now() + 8000; while (Date.now() < end) {}'];
    const idle = [process.execPath, '-e', 'setTimeout(() => {}, 8000)'];
    for (const [beads, run] of [
      ['bd-build', build],
      ['bd-idle-tool', idle],
    ] as const) {
      const prompt = sb.prompt({ steps: [{ message: 'running it' }, { run }, { exit: 0 }] });
      await sb.dx(
        ['start', '--beads', beads, '--provider', 'fake', '--prompt-file', prompt, '--worktree', sb.worktree(beads)],
        {
          env,
        },
      );
    }
    const busy = await waitFor(async () => {
      const c = await check('bd-build', ['--stall-minutes', '0.02']);
      return c.json.reason_code === 'tools_busy_without_events' ? c : undefined;
    }, 'tools busy');
    expect(busy.code).toBe(0);
    expect(busy.json.state).toBe('healthy');
    // past the no-mutation timeout (1.2 s here) with nothing changed: the build is not a no-op
    // while it runs (an owner would stop a no_op job mid-build)
    const building = await check('bd-build');
    expect(building.json).toMatchObject({ state: 'healthy', reason_code: 'tools_busy_before_first_change' });
    const stalled = await waitFor(async () => {
      const c = await check('bd-idle-tool', ['--stall-minutes', '0.02']);
      return c.json.state === 'stalled' ? c : undefined;
    }, 'idle tool stalled');
    expect(stalled.json.reason_code).toBe('no_progress_events');
    const idleNoOp = await check('bd-idle-tool');
    expect(idleNoOp.json).toMatchObject({ state: 'no_op', reason_code: 'no_mutation_timeout' });
  });

  it('an agent repeating one tool call or two in turn, the worktree unchanged, is stalled (repeating_tool_calls); one whose call changes it is not', async () => {
    const env = { DX_RUNNER_MAX_REPEATED_TOOL_CALLS: '4', DX_RUNNER_MUTATION_POLL_SEC: '0.5' };
    const again = (run: string[], times: number) =>
      Array.from({ length: times }, () => [{ run }, { sleep: 1200 }]).flat();
    await sb.startFake('bd-loop', [{ message: 'looking' }, ...again(['cat', 'README.md'], 5), { hang: true }], [], {
      env,
    });
    // two calls in turn, nothing changing (a re-edit that writes the same, then the same test)
    await sb.startFake(
      'bd-ping-pong',
      [
        { message: 'retrying' },
        ...[1, 2, 3].flatMap(() => [{ run: ['git', 'status'] }, { run: ['git', 'diff'] }]),
        { hang: true },
      ],
      [],
      { env },
    );
    // five different reads: work, whatever their number
    await sb.startFake(
      'bd-reads',
      [{ message: 'reading' }, ...['a', 'b', 'c', 'd', 'e'].map((f) => ({ run: ['cat', `${f}.txt`] })), { hang: true }],
      [],
      { env },
    );
    // the same call, but each time it appends to a file: the worktree moves, so it is work
    await sb.startFake(
      'bd-appends',
      [{ message: 'appending' }, ...again(['sh', '-c', 'echo line >> notes.txt'], 5), { hang: true }],
      [],
      { env },
    );
    const looping = await waitFor(async () => {
      const c = await check('bd-loop');
      return c.json.state === 'stalled' ? c : undefined;
    }, 'loop seen');
    expect(looping.code).toBe(2);
    expect(looping.json.reason_code).toBe('repeating_tool_calls');
    const heartbeat = parseKv(fs.readFileSync(jobPaths(sb.state, 'fake', 'bd-loop').heartbeat, 'utf8'));
    expect(Number(heartbeat.repeated_tool_calls)).toBeGreaterThanOrEqual(4);
    expect(heartbeat.repeated_tool_call).toContain('cat README.md');
    // check names the call it repeats, for a person and in JSON
    expect(looping.json.repeating).toMatchObject({ call: expect.stringContaining('cat README.md') });
    expect((await sb.dx(['check', 'bd-loop'])).stdout).toMatch(/^repeating calls=\d+ latest=bash .*cat README\.md/m);
    await waitFor(async () => {
      const log = fs.readFileSync(path.join(sb.state, 'fake', 'bd-appends.log'), 'utf8');
      return (log.match(/"tool_result"/g) ?? []).length === 5;
    }, 'five appends');
    expect((await check('bd-appends')).json).toMatchObject({ state: 'healthy', reason_code: 'progressing' });
    const pingPong = await waitFor(async () => {
      const c = await check('bd-ping-pong');
      return c.json.state === 'stalled' ? c : undefined;
    }, 'two calls in turn seen looping');
    expect(pingPong.json.reason_code).toBe('repeating_tool_calls');
    expect((await check('bd-reads')).json).toMatchObject({ state: 'healthy', reason_code: 'progressing' });
  });

  it('calls a live job that never reports an event and changes nothing no_op after the startup grace (exit 23)', async () => {
    const wt = sb.worktree('bd-silent');
    const prompt = sb.prompt({ silent: true, steps: [{ hang: true }] });
    await sb.dx(['start', '--beads', 'bd-silent', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt], {
      env: { DX_RUNNER_STARTUP_GRACE_SEC: '1.5' },
    });
    expect((await check('bd-silent')).json.state).toBe('launching');
    const c = await waitFor(async () => {
      const r = await check('bd-silent');
      return r.json.state === 'no_op' ? r : undefined;
    }, 'no_op silent job');
    expect(c.code).toBe(23);
    expect(c.json.reason_code).toBe('no_events_no_mutation');
  });

  it('reports a job waiting out a rate limit as healthy with rate_limit_backoff; stopped, its outcome keeps reset_at', async () => {
    const wt = sb.worktree('bd-wait');
    const prompt = sb.prompt({
      steps: [{ message: 'calling' }, { retry: { class: 'rate_limited', retry_after: 600 } }, { hang: true }],
    });
    await sb.dx(['start', '--beads', 'bd-wait', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt]);
    const c = await waitFor(async () => {
      const r = await check('bd-wait', ['--stall-minutes', '0.01']);
      return r.json.reason_code === 'rate_limit_backoff' ? r : undefined;
    }, 'rate limit backoff');
    expect(c.json.state).toBe('healthy');
    expect(c.json.rate_limited_until).not.toBeNull();
    // stopped while it waits: the outcome still says when the limit lifts
    expect((await sb.dx(['stop', '--beads', 'bd-wait'])).code).toBe(0);
    const outcome = await waitFor(() => outcomeOf('fake', 'bd-wait'), 'outcome');
    expect(outcome.state).toBe('killed');
    expect(outcome.reset_at).toBe(c.json.rate_limited_until);
    const report = await sb.dxJson(['report', '--beads', 'bd-wait', '--format', 'json'], JobReportSchema);
    expect(report.json.reset_at).toBe(c.json.rate_limited_until);
    const markdown = await sb.dx(['report', '--beads', 'bd-wait']);
    expect(markdown.stdout).toContain(`Rate Limit Resets At: ${c.json.rate_limited_until}`);
  });

  it('terminates a CLI that stays alive after its final result and keeps the result', async () => {
    const wt = sb.worktree('bd-hung');
    const prompt = sb.prompt({ steps: [{ write: 'done.txt' }, { result: 'all done' }, { hang: true }] });
    await sb.dx(['start', '--beads', 'bd-hung', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt], {
      env: { DX_RUNNER_FINAL_EXIT_GRACE_SEC: '1' },
    });
    const done = await waitFor(async () => {
      const c = await check('bd-hung');
      return c.json.outcome_state ? c : undefined;
    }, 'outcome');
    expect(done.json).toMatchObject({
      state: 'exited_ok',
      reason_code: 'completed_then_hung_after_final_result',
      exit_code: 0,
    });
    expect(outcomeOf('fake', 'bd-hung')?.hung_after_final_result).toBe(true);
  });

  it('enforces DX_RUNNER_MAX_RUNTIME_MINUTES: a hanging job ends as a timeout (exit code 124)', async () => {
    const wt = sb.worktree('bd-timeout');
    const prompt = sb.prompt({ steps: [{ message: 'working' }, { hang: true }] });
    await sb.dx(['start', '--beads', 'bd-timeout', '--provider', 'fake', '--prompt-file', prompt, '--worktree', wt], {
      // limits that are not whole milliseconds (1800.6 ms, 100.5 ms) are valid settings too
      env: { DX_RUNNER_MAX_RUNTIME_MINUTES: '0.03001', DX_RUNNER_HEARTBEAT_INTERVAL_MS: '100.5' },
    });
    const done = await waitFor(async () => {
      const c = await check('bd-timeout');
      return c.json.outcome_state ? c : undefined;
    }, 'timeout outcome');
    expect(done.json).toMatchObject({
      state: 'exited_err',
      reason_code: 'max_runtime_exceeded',
      exit_code: 124,
      outcome_state: 'timeout',
    });
    expect(done.code).toBe(3);
  });

  it('takes a limit beyond 24.8 days (the most a Node timer holds) as long, not as now', async () => {
    // a "practically never" runtime, final-exit grace and wait; a Node timer given any of them fires at once
    const env = { DX_RUNNER_MAX_RUNTIME_MINUTES: '100000', DX_RUNNER_FINAL_EXIT_GRACE_SEC: '3000000' };
    const started = await sb.startFake(
      'bd-long-limits',
      [{ message: 'working' }, { sleep: 1500 }, { write: 'done.txt' }, { result: 'done' }, { sleep: 500 }, { exit: 0 }],
      [],
      { env },
    );
    expect(started.code).toBe(0);
    const waited = await sb.dxJson(['wait', 'bd-long-limits', '--timeout', '3000000'], WaitOutputSchema);
    expect(waited.json).toMatchObject({ state: 'exited_ok', reason_code: 'process_exit', timed_out: false });
    expect(waited.code).toBe(0);
    expect(outcomeOf('fake', 'bd-long-limits')?.hung_after_final_result).toBeUndefined();
  });

  it('lists live jobs in status and finished ones with --recent', async () => {
    const wt1 = sb.worktree('bd-s1');
    const wt2 = sb.worktree('bd-s2');
    await sb.dx(sb.fakeStartArgs('bd-s1', [{ message: 'x' }, { hang: true }], wt1));
    await sb.dx(sb.fakeStartArgs('bd-s2', [{ write: 'a' }, { exit: 0 }], wt2));
    await waitFor(async () => (await check('bd-s2')).json.outcome_state !== null, 'bd-s2 done');
    const live = await sb.dxJson(['status'], StatusOutputSchema);
    expect(live.json.jobs.map((j) => j.beads)).toEqual(['bd-s1']);
    const recent = await sb.dxJson(['status', '--recent', '5'], StatusOutputSchema);
    expect(recent.json.jobs.map((j) => [j.beads, j.state])).toEqual([
      ['bd-s1', expect.stringMatching(/launching|healthy/)],
      ['bd-s2', 'exited_ok'],
    ]);
    const human = await sb.dx(['status', '--recent', '5']);
    expect(human.stdout).toContain('=== Recently Completed (last 5) ===');
    expect(human.stdout).toMatch(/bd-s2\s+fake\s+exited_ok/);

    // several jobs in one call, in the order asked; an id with no job is listed, not an error
    const listed = await sb.dxJson(['status', '--beads', 'bd-s2,bd-nope,bd-s1'], StatusOutputSchema);
    expect(listed.code).toBe(0);
    expect(listed.json.jobs.map((j) => [j.beads, j.state])).toEqual([
      ['bd-s2', 'exited_ok'],
      ['bd-s1', expect.stringMatching(/launching|healthy/)],
    ]);
    expect(listed.json.missing).toEqual(['bd-nope']);
    const listedHuman = await sb.dx(['status', '--beads', 'bd-s2,bd-nope']);
    expect(listedHuman.stdout).toContain('no job recorded for: bd-nope');
    // one id stays check's answer: no record is an error
    const one = await sb.dx(['status', '--beads', 'bd-nope', '--json']);
    expect(one.code).toBe(1);
    expect(JSON.parse(one.stdout).error.reason_code).toBe('job_not_found');
    const bad = await sb.dx(['status', '--beads', 'bd-s1,../etc', '--json']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });
});
