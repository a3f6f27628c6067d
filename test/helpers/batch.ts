import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WaveOutputSchema, type WaveOutput } from '@dx/dx-batch';
import { BATCH_BIN } from './paths.js';
import { processExists, type Sandbox } from './sandbox.js';

/**
 * dx-batch waves over the fake agent: it picks its script from FAKE_AGENT_SCRIPTS by the
 * DX-BATCH-* header of the prompt dx-batch wrote (item, phase, attempt, provider), and every
 * recorded script appends one line per run to a runs log (item phase attempt provider pid).
 */
export const IMPLEMENT_OK = {
  steps: [
    { write: '${batch:item}-attempt${batch:attempt}.txt', content: 'work of attempt ${batch:attempt}\n' },
    { usage: { input: 100, output: 20 } },
    {
      contract: {
        status: 'completed',
        artifacts: { files_changed: ['${batch:item}.txt'], commits: [] },
        summary: 'implemented',
        findings: [],
      },
    },
  ],
};
export const REVIEW_OK = {
  steps: [
    { usage: { input: 50, output: 5 } },
    { contract: { verdict: 'APPROVED', findings: [], summary: 'looks right', reviewer: 'fake' } },
  ],
};

export interface BatchFixture {
  scripts: string;
  runsLog: string;
  policy: string;
  script(name: string, body: unknown): void;
  recorded(body: { steps: unknown[] }): { steps: unknown[] };
  items(ids: string[]): string;
  runs(): string[][];
}

/** Scripts folder, runs log and a policy (fake → fake-alt chains) set up in the sandbox's env. */
export function createBatchFixture(sb: Sandbox, batch: Record<string, string | number> = {}): BatchFixture {
  const scripts = path.join(sb.dir, 'scripts');
  const runsLog = path.join(sb.dir, 'runs.log');
  const policy = path.join(sb.dir, 'policy.yaml');
  fs.mkdirSync(scripts, { recursive: true });
  const settings = {
    retry_chain: '[fake, fake-alt]',
    review_chain: '[fake, fake-alt]',
    max_parallel: 2,
    poll_interval_sec: 0.2,
    ...batch,
  };
  fs.writeFileSync(
    policy,
    [
      `worktrees:`,
      `  allowed_prefixes: [${sb.agents}]`,
      `batch:`,
      ...Object.entries(settings).map(([k, v]) => `  ${k}: ${v}`),
      '',
    ].join('\n'),
  );
  Object.assign(sb.env, { DX_POLICY_FILE: policy, FAKE_AGENT_SCRIPTS: scripts });
  const fixture: BatchFixture = {
    scripts,
    runsLog,
    policy,
    script(name, body) {
      fs.writeFileSync(path.join(scripts, `${name}.json`), JSON.stringify(body));
    },
    recorded(body) {
      return { steps: [{ record_run: runsLog }, ...body.steps] };
    },
    items(ids) {
      for (const id of ids) sb.worktree(id);
      return ids.join(',');
    },
    runs() {
      return (fs.existsSync(runsLog) ? fs.readFileSync(runsLog, 'utf8') : '')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split(' '));
    },
  };
  fixture.script('default.implement', fixture.recorded(IMPLEMENT_OK));
  fixture.script('default.review', fixture.recorded(REVIEW_OK));
  return fixture;
}

export function parseWave(stdout: string): WaveOutput {
  const parsed = WaveOutputSchema.safeParse(JSON.parse(stdout));
  if (!parsed.success) throw new Error(`not a wave: ${stdout.slice(0, 2000)}`);
  return parsed.data;
}

export function itemById(wave: WaveOutput, id: string) {
  const item = wave.items.find((i) => i.beads_id === id);
  if (!item) throw new Error(`no item ${id}`);
  return item;
}

export interface BatchEnd {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const background: ChildProcess[] = [];

/** The built dx-batch bin in the background (kill -9, pauses, concurrency, cancel): the process and its end. */
export function spawnBatch(
  box: Pick<Sandbox, 'env' | 'dir'>,
  args: string[],
  env: Record<string, string> = {},
  /** A process group of its own: signalled as a terminal's Ctrl-C or cron's timeout signals (`-pid`). */
  options: { ownGroup?: boolean } = {},
): { child: ChildProcess; done: Promise<BatchEnd> } {
  const child = spawn(process.execPath, [BATCH_BIN, ...args], {
    env: { ...box.env, ...env },
    cwd: box.dir,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownGroup === true,
  });
  background.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<BatchEnd>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}

/** For an afterAll: ends every background dx-batch a test left running (its own children, by pid). */
export function killBackgroundBatches(): void {
  for (const child of background.splice(0)) if (child.pid && processExists(child.pid)) child.kill('SIGKILL');
}
