/**
 * Prompts never in a process's argv: every user on the host can read every command line for as
 * long as a process runs. While each kind of job runs — dx-runner start, dx-dispatch (the legacy
 * form, which carries the task in its own argv, and `-` on stdin), cc-glm-job, a dx-batch wave and
 * a nightly run — no process's /proc/<pid>/cmdline holds any line of the prompt; the agent still
 * gets it (the real CLIs are covered in real-providers.test.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createBatchFixture, REVIEW_OK } from '../helpers/batch.js';
import { BATCH_BIN, BD_STUB_DIR, CC_GLM_JOB_BIN, DISPATCH_BIN, NIGHTLY_BIN } from '../helpers/paths.js';
import { cmdlinesContaining, createSandbox, promptLines, waitFor, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
const background: ChildProcess[] = [];
beforeEach(() => {
  sb = createSandbox();
  // plain-text prompts run this script: say what arrived, then keep running
  const script = path.join(sb.dir, 'echo-then-hang.json');
  fs.writeFileSync(script, JSON.stringify({ steps: [{ echo_prompt: true }, { hang: true }] }));
  sb.env.FAKE_AGENT_DEFAULT_SCRIPT = script;
});
afterEach(async () => {
  for (const child of background.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await sb.cleanup();
});

const PROMPT = [
  'Customer bug report 4711: checkout fails for ACME Corp',
  'Internal URL: https://intranet.example/tickets/4711-secret',
  'Credential pasted by mistake: pasted-4711-c0ffee-d00d',
].join('\n');
/** Lines this distinctive can only be in a command line if the prompt was put there. */
const needles = (text: string) => promptLines(text).filter((l) => l.length >= 6);

async function receivedBy(beads: string, firstLine: string, provider = 'fake') {
  const log = path.join(sb.state, provider, `${beads}.log`);
  await waitFor(
    () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes(`prompt received: ${firstLine}`),
    `${beads}: the agent got its prompt`,
  );
}

describe('no prompt in any command line', () => {
  it('dx-runner start: the agent reads its prompt on stdin', async () => {
    const prompt = path.join(sb.dir, 'task.prompt');
    fs.writeFileSync(prompt, PROMPT);
    const r = await sb.dx([
      'start',
      '--beads',
      'bd-p1',
      '--provider',
      'fake',
      '--prompt-file',
      prompt,
      '--worktree',
      sb.worktree('bd-p1'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    await receivedBy('bd-p1', PROMPT.split('\n')[0]);
    expect(cmdlinesContaining(needles(PROMPT))).toEqual([]);
    const dry = await sb.dx([
      'start',
      '--beads',
      'bd-p1b',
      '--provider',
      'fake',
      '--prompt-file',
      prompt,
      '--worktree',
      sb.worktree('bd-p1b'),
      '--dry-run',
      '--json',
    ]);
    expect(JSON.parse(dry.stdout).command).toMatch(/< <prompt file>$/);
  });

  it('dx-dispatch: the legacy task in argv is blanked while --wait runs; "-" reads it from stdin', async () => {
    sb.worktree('bd-p2');
    const env = { ...sb.env, DX_DISPATCH_NO_DEPRECATION: '1' };
    const legacy = spawn(
      process.execPath,
      [
        DISPATCH_BIN,
        'cc-glm',
        PROMPT,
        '--beads',
        'bd-p2',
        '--provider',
        'fake',
        '--repo',
        'repo',
        '--wait',
        '--timeout',
        '60',
      ],
      { env, stdio: 'ignore' },
    );
    background.push(legacy);
    await receivedBy('bd-p2', PROMPT.split('\n')[0]);
    expect(legacy.exitCode).toBeNull();
    expect(cmdlinesContaining(needles(PROMPT))).toEqual([]);

    sb.worktree('bd-p3');
    const piped = spawn(
      process.execPath,
      [DISPATCH_BIN, 'cc-glm', '-', '--beads', 'bd-p3', '--provider', 'fake', '--repo', 'repo'],
      { env, stdio: ['pipe', 'ignore', 'ignore'] },
    );
    background.push(piped);
    piped.stdin.end(`${PROMPT.replace(/4711/g, '4712')}\n`);
    await receivedBy('bd-p3', PROMPT.split('\n')[0].replace('4711', '4712'));
    expect(cmdlinesContaining(needles(PROMPT.replace(/4711/g, '4712')))).toEqual([]);
  });

  it('cc-glm-job start: the prompt file is handed over, never its text', async () => {
    const prompt = path.join(sb.dir, 'cc.prompt');
    fs.writeFileSync(prompt, PROMPT.replace(/4711/g, '4713'));
    const r = await sb.bin(
      CC_GLM_JOB_BIN,
      ['start', '--beads', 'bd-p4', '--prompt-file', prompt, '--worktree', sb.worktree('bd-p4')],
      { env: { CC_GLM_JOB_PROVIDER: 'fake', DX_DISPATCH_NO_DEPRECATION: '1' } },
    );
    expect(r.code, r.stderr).toBe(0);
    await receivedBy('bd-p4', PROMPT.split('\n')[0].replace('4711', '4713'));
    expect(cmdlinesContaining(needles(PROMPT.replace(/4711/g, '4713')))).toEqual([]);
  });

  it('a dx-batch wave: the implement prompt it writes is in no command line', async () => {
    const fx = createBatchFixture(sb, { max_parallel: 1 });
    fx.script('default.implement', { steps: [{ echo_prompt: true }, { sleep: 60_000 }] });
    fx.script('default.review', REVIEW_OK);
    const extra = path.join(sb.dir, 'extra.txt');
    fs.writeFileSync(extra, 'Additional instruction 4714: keep the public API unchanged\n');
    const wave = spawn(
      process.execPath,
      [BATCH_BIN, 'start', '--items', fx.items(['bd-p5']), '--wave-id', 'w-privacy', '--prompt-file', extra],
      { env: sb.env, stdio: 'ignore', cwd: sb.dir },
    );
    background.push(wave);
    await receivedBy('bd-p5', 'DX-BATCH-ITEM: bd-p5');
    const text = fs.readFileSync(
      path.join(sb.dir, 'batch', 'waves', 'w-privacy', 'prompts', 'bd-p5.implement.attempt1.prompt'),
      'utf8',
    );
    expect(text).toContain('Additional instruction 4714');
    expect(cmdlinesContaining(needles(text))).toEqual([]);
    wave.kill('SIGTERM');
    await sb.batch(['cancel', '--wave-id', 'w-privacy']);
  });

  it('a nightly run: the item prompt is in no command line', async () => {
    const ws = path.join(sb.dir, 'workspace');
    fs.mkdirSync(ws);
    const bd = path.join(BD_STUB_DIR, 'bd');
    const bdEnv = { ...process.env, BEADS_DIR: path.join(ws, '.beads') };
    execFileSync(bd, ['init', '-p', 'bd'], { cwd: ws, env: bdEnv });
    execFileSync(
      bd,
      [
        'create',
        'Checkout fails for ACME 4715',
        '--id',
        'bd-p6',
        '-p',
        '1',
        '-d',
        'Internal URL https://intranet.example/4715-secret',
        '--silent',
      ],
      { cwd: ws, env: bdEnv },
    );
    sb.worktree('bd-p6');
    const policy = path.join(sb.dir, 'nightly.yaml');
    fs.writeFileSync(policy, 'nightly:\n  provider_chain: [fake]\n');
    const r = await sb.bin(NIGHTLY_BIN, ['run', '--json'], {
      env: {
        PATH: `${BD_STUB_DIR}:${process.env.PATH}`,
        BEADS_DIR: path.join(ws, '.beads'),
        NIGHTLY_DISPATCH_DIR: path.join(sb.dir, 'nightly'),
        DX_POLICY_FILE: policy,
      },
    });
    expect(r.code, r.stderr).toBe(0);
    const log = path.join(sb.state, 'fake', 'bd-p6.log');
    await waitFor(
      () => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('prompt received'),
      'the nightly agent got its prompt',
    );
    const copy = fs.readFileSync(path.join(sb.state, 'fake', 'bd-p6.prompt'), 'utf8');
    expect(copy).toContain('4715-secret');
    expect(cmdlinesContaining(needles(copy))).toEqual([]);
    // the private copy is readable by its owner only
    expect(fs.statSync(path.join(sb.state, 'fake', 'bd-p6.prompt')).mode & 0o777).toBe(0o600);
  });
});
