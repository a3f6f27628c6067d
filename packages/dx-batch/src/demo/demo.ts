import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DxError, ensureWorktreeBase, ExitCode } from '@dx/core';
import { defaultWaveId, startWave, type WaveDeps } from '../orchestrator/lifecycle.js';
import type { WaveState } from '../waves/state.js';

/** The demo's items and what each shows (the scenarios under packages/dx-batch/demo make it so). */
export const DEMO_ITEMS: Record<string, string> = {
  'demo-1': 'implemented, reviewed, approved',
  'demo-2': 'the first review asks for a revision; the second approves',
  'demo-3': 'rate-limited on sim (as OpenCode on Z.ai), falls back to sim-alt, approved',
  'demo-4': 'the agent reports it is blocked (needs a person)',
  'demo-5': 'implemented, reviewed, approved',
};
/** How the demo wave ends when everything works as designed. */
const EXPECTED: Record<string, string> = { 'demo-4': 'BLOCKED' };

export const DEMO_SCENARIOS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'demo');
const MARKER = '.dx-batch-demo';

/** Settings for the dx-runner jobs of the demo: the scenarios, a pace a person can follow, short limits. */
export function demoEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return {
    DX_SIM_PACE_MS: '150',
    DX_RUNNER_HEARTBEAT_INTERVAL_MS: '200',
    DX_RUNNER_MUTATION_POLL_SEC: '0.5',
    DX_RUNNER_FINAL_EXIT_GRACE_SEC: '2',
    ...env,
    DX_SIM_SCENARIOS: DEMO_SCENARIOS,
    DX_RUNNER_MAX_PARALLEL_SIM: '3',
    DX_RUNNER_MAX_PARALLEL_SIM_ALT: '3',
  };
}

function notOurs(dir: string): DxError {
  return new DxError(`${dir} exists and was not made by dx-batch demo; remove it or pass --base`, {
    exitCode: ExitCode.general,
    reasonCode: 'demo_dir_not_ours',
    nextAction: 'pass_--base_to_a_free_folder',
  });
}

/** A fresh git repository per item under <base>/<item>/repo (only a folder the demo made is replaced). */
function makeRepos(base: string): void {
  for (const item of Object.keys(DEMO_ITEMS)) {
    const dir = path.join(base, item);
    if (fs.existsSync(dir) && !fs.existsSync(path.join(dir, MARKER))) throw notOurs(dir);
  }
  for (const item of Object.keys(DEMO_ITEMS)) {
    const dir = path.join(base, item);
    fs.rmSync(dir, { recursive: true, force: true });
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(repo, { recursive: true });
    fs.writeFileSync(path.join(dir, MARKER), 'made by dx-batch demo; removed by dx-batch demo --clean\n');
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=dx-batch demo', '-c', 'user.email=demo@localhost', ...args], {
        cwd: repo,
        stdio: 'ignore',
      });
    git('init', '-q');
    fs.writeFileSync(path.join(repo, 'README.md'), `# ${item}\n\n${DEMO_ITEMS[item]}\n`);
    git('add', '-A');
    git('commit', '-q', '-m', `${item}: initial commit`);
  }
}

/** `dx-batch demo --clean`: remove the demo repositories (waves stay in history until dx-batch prune). */
export function cleanDemo(base: string): string[] {
  const removed: string[] = [];
  for (const item of Object.keys(DEMO_ITEMS)) {
    const dir = path.join(base, item);
    if (!fs.existsSync(dir)) continue;
    if (!fs.existsSync(path.join(dir, MARKER))) throw notOurs(dir);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * A five-item wave on the simulator through the real orchestrator and the real dx-runner: one
 * item needs a revision, one is rate-limited and falls back to the second simulated provider, one
 * is blocked. Its dx-runner jobs read DX_SIM_SCENARIOS from `deps.client`'s environment.
 */
export async function runDemoWave(
  requestedBase: string,
  deps: WaveDeps,
): Promise<{ wave: WaveState; asDesigned: boolean }> {
  const base = ensureWorktreeBase(requestedBase, deps.policy);
  makeRepos(base);
  const wave = await startWave(
    {
      items: Object.keys(DEMO_ITEMS),
      waveId: defaultWaveId().replace(/^wave-/, 'demo-'),
      config: {
        retry_chain: ['sim', 'sim-alt'],
        review_chain: ['sim'],
        max_parallel: 3,
        max_revisions: 2,
        poll_interval_sec: 0.5,
        worktree_base: base,
        prompt_file: null,
        policy_file: null,
      },
    },
    deps,
  );
  const asDesigned =
    wave.status === 'completed' && wave.items.every((i) => i.status === (EXPECTED[i.beads_id] ?? 'APPROVED'));
  return { wave, asDesigned };
}
