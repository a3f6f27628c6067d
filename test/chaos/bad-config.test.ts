/**
 * Bad configuration is refused before anything runs: an invalid environment value stops start
 * (and every tool that launches jobs) with one line and exit 1, and a watcher whose logging cannot
 * be set up still supervises its job to an outcome.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobPaths, OutcomeSchema, parseKv, type WatcherSpec } from '@dx/core';
import { DISPATCH_BIN, FAKE_AGENT, NIGHTLY_BIN, REPO_ROOT } from '../helpers/paths.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

const oneLine = (stderr: string) => stderr.trim().split('\n');

describe('invalid environment', () => {
  it.each([
    ['DX_RUNNER_LOG_LEVEL', 'bogus'],
    ['DX_RUNNER_MAX_RUNTIME_MINUTES', 'soon'],
    ['DX_RUNNER_KEEP_JOB_HOME', 'yes'],
    ['DX_RUNNER_MAX_PARALLEL_FAKE', '0'],
    ['DX_RUNNER_EXTRA_ALLOWED_PREFIXES', 'relative/dir'],
  ])('%s=%s: start refuses with one line, exit 1, invalid_env, and launches nothing', async (name, value) => {
    const wt = sb.worktree('bd-env');
    const r = await sb.dx(sb.fakeStartArgs('bd-env', [{ exit: 0 }], wt), { env: { [name]: value } });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^Error: ${name} .*\\(reason_code=invalid_env\\)$`)),
    ]);
    expect(fs.existsSync(jobPaths(sb.state, 'fake', 'bd-env').meta)).toBe(false);
  });

  it('dx-batch, nightly-dispatch and dx-dispatch refuse a bad environment before launching anything', async () => {
    const env = { DX_RUNNER_LOG_LEVEL: 'loud' };
    sb.worktree('bd-b');
    const batch = await sb.batch(['start', '--items', 'bd-b', '--wave-id', 'w-env'], { env });
    expect(batch.code).toBe(1);
    expect(batch.stderr).toContain('reason_code=invalid_env');
    const night = await sb.bin(NIGHTLY_BIN, ['run'], { env });
    expect(night.code).toBe(1);
    expect(night.stderr).toContain('reason_code=invalid_env');
    const dispatch = await sb.bin(DISPATCH_BIN, ['epyc6', 'do it', '--beads', 'bd-d'], {
      env: { DX_DISPATCH_NO_DEPRECATION: 'yes' },
    });
    expect(dispatch.code).toBe(1);
    expect(oneLine(dispatch.stderr)).toEqual([expect.stringContaining('DX_DISPATCH_NO_DEPRECATION must be 0 or 1')]);
    expect(fs.existsSync(path.join(sb.state, 'fake'))).toBe(false);
    expect(fs.existsSync(path.join(sb.dir, 'batch', 'waves', 'w-env'))).toBe(false);
  });

  it('dx-dispatch with a TMPDIR that does not exist: one line, exit 1', async () => {
    const r = await sb.bin(DISPATCH_BIN, ['epyc6', 'do it', '--beads', 'bd-t'], {
      env: { TMPDIR: path.join(sb.dir, 'missing') },
    });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr).filter((l) => !l.startsWith('[DEPRECATION]'))).toEqual([
      expect.stringMatching(/cannot create the private prompt file .*missing.*reason_code=prompt_file_unwritable/),
    ]);
  });

  it('a policy that trips the YAML alias limit: one line naming the file', async () => {
    const bomb = path.join(sb.dir, 'bomb.yaml');
    const levels = ['a: &a [x,x,x,x,x,x,x,x,x,x]'];
    for (let i = 1; i < 7; i++)
      levels.push(
        `l${i}: &l${i} [${Array(10)
          .fill(i === 1 ? '*a' : `*l${i - 1}`)
          .join(',')}]`,
      );
    fs.writeFileSync(bomb, `${levels.join('\n')}\n`);
    const r = await sb.dx(['preflight', '--policy', bomb]);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toEqual([
      expect.stringMatching(new RegExp(`^Error: invalid policy ${bomb}: .*alias.*\\(reason_code=policy_invalid\\)$`)),
    ]);
  });
});

describe('a watcher whose logging cannot be set up', () => {
  it('still supervises the agent and writes its outcome', async () => {
    const wt = sb.worktree('bd-nolog');
    const paths = jobPaths(sb.state, 'fake', 'bd-nolog');
    fs.mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
    const prompt = sb.prompt({
      steps: [{ message: 'hi' }, { write: 'f.txt', content: 'x\n' }, { result: 'done' }, { exit: 0 }],
    });
    const spec: WatcherSpec = {
      paths,
      beads: 'bd-nolog',
      provider: 'fake',
      runInstance: 'run-nolog',
      runId: '20260101000000',
      runtimeModule: new URL('../fixtures/provider-fake/runtime.js', import.meta.url).href,
      launch: { command: process.execPath, args: [FAKE_AGENT, prompt], env: { ...sb.env }, cwd: wt },
      worktree: wt,
      limits: {
        logCapBytes: 50 * 1024 * 1024,
        outputCapBytes: 1024 * 1024 * 1024,
        maxRuntimeMs: 60_000,
        finalExitGraceMs: 5000,
        killGraceMs: 1000,
        mutationPollMs: 300,
        heartbeatIntervalMs: 100,
        freezeGapMs: 30_000,
      },
      outcomeBase: {
        retries: 0,
        selectedModel: 'fake-model-1',
        fallbackReason: 'none',
        host: 'test',
        cwd: sb.dir,
        providerSwitchFrom: [],
        startedAt: new Date().toISOString(),
      },
      keepHome: false,
      logLevel: 'no-such-level',
      expectNoChanges: false,
    };
    const watcher = spawn(process.execPath, [path.join(REPO_ROOT, 'packages', 'core', 'dist', 'bundle', 'main.js')], {
      stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
      env: sb.env,
    });
    let ack = '';
    (watcher.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => (ack += d.toString()));
    watcher.stdin!.end(JSON.stringify(spec));
    const code = await new Promise<number | null>((resolve) => watcher.on('close', resolve));
    expect(code).toBe(0);
    expect(JSON.parse(ack.split('\n')[0])).toMatchObject({ ok: true });
    const outcome = OutcomeSchema.parse(parseKv(fs.readFileSync(paths.outcome, 'utf8')));
    expect(outcome).toMatchObject({ state: 'success', reason_code: 'process_exit', run_instance: 'run-nolog' });
    expect(fs.readFileSync(paths.log, 'utf8')).toContain('"type":"result"');
    expect(fs.readFileSync(paths.watcherLog, 'utf8')).toContain('logging set-up failed');
    await waitFor(() => !fs.existsSync(paths.pid), 'pid file removed');
  });
});
