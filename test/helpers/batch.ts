import fs from 'node:fs';
import path from 'node:path';
import { WaveOutputSchema, type WaveOutput } from '@dx/dx-batch';
import type { Sandbox } from './sandbox.js';

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
