import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JobView, Policy, ProviderRegistry } from '@dx/core';
import type { DemoOutput } from './schemas.js';
import { loadScenario } from './scenario.js';

type Core = typeof import('@dx/core');

export const DEMO_BEADS = 'bd-demo';
/** Beside the demo repository: proves the folder is the demo's before --clean or a re-run removes it. */
const MARKER = '.dx-runner-demo';
const DEMO_TIMEOUT_MS = 120_000;
const POLL_MS = 250;

/** Limits short enough that a demo of a stall or a hang ends in seconds; the operator's own env wins. */
const DEMO_LIMITS: Record<string, string> = {
  DX_RUNNER_STALL_MINUTES: '0.1',
  DX_RUNNER_STARTUP_GRACE_SEC: '2',
  DX_RUNNER_FINAL_EXIT_GRACE_SEC: '2',
  DX_RUNNER_HEARTBEAT_INTERVAL_MS: '200',
  DX_RUNNER_MUTATION_POLL_SEC: '0.5',
  DX_SIM_PACE_MS: '400',
};

export interface DemoOptions {
  base: string;
  scenario: string;
  registry: ProviderRegistry;
  policy: Policy;
  version?: string;
  env?: NodeJS.ProcessEnv;
  /** One line per visible change of the job, as it happens. */
  onProgress?: (line: string) => void;
}

function demoDir(base: string): string {
  return path.join(base, DEMO_BEADS);
}

function inspectCommands(bin: string): string[] {
  return [
    `${bin} check ${DEMO_BEADS}`,
    `${bin} report ${DEMO_BEADS}`,
    `${bin} logs ${DEMO_BEADS}`,
    `${bin} demo --clean`,
  ];
}

/** Remove a previous demo folder, but only one this command made. */
function removeDemoDir(dir: string): void {
  if (!fs.existsSync(dir)) return;
  if (!fs.existsSync(path.join(dir, MARKER)))
    throw Object.assign(new Error(`${dir} exists and was not made by dx-runner demo; remove it or pick --base`), {
      exitCode: 1,
      reasonCode: 'demo_dir_not_ours',
      nextAction: 'pass_--base_to_a_free_folder',
    });
  fs.rmSync(dir, { recursive: true, force: true });
}

function makeDemoRepo(dir: string): string {
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(repo, { recursive: true });
  fs.writeFileSync(path.join(dir, MARKER), 'made by dx-runner demo; removed by dx-runner demo --clean\n');
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=dx-runner demo', '-c', 'user.email=demo@localhost', ...args], {
      cwd: repo,
      stdio: 'ignore',
    });
  git('init', '-q');
  fs.writeFileSync(path.join(repo, 'README.md'), '# dx-runner demo\n\nA throw-away repository for `dx-runner demo`.\n');
  git('add', '-A');
  git('commit', '-q', '-m', 'demo: initial commit');
  return repo;
}

function progressLine(view: JobView): string {
  const parts = [
    new Date().toISOString().slice(11, 19),
    view.state.padEnd(10),
    `events=${view.events}`,
    `tools=${view.tool_calls}`,
    `mutations=${view.mutations}`,
  ];
  if (view.last_event_kind) parts.push(`last=${view.last_event_kind}`);
  if (view.reason_code) parts.push(`(${view.reason_code})`);
  return `  ${parts.join('  ')}`;
}

/**
 * A short simulated job through the real engine: a throw-away git repository under the policy's
 * worktree prefix, `start --provider sim`, the job followed live until it ends as its scenario
 * says, then the commands to inspect it.
 */
export async function runDemo(core: Core, bin: string, options: DemoOptions): Promise<DemoOutput> {
  const env = { ...DEMO_LIMITS, ...(options.env ?? process.env) };
  const scenario = loadScenario(options.scenario, core.readYamlFile);
  const root = core.openStateRoot({ env, create: true });
  const previous = core.findLatestJob(root, DEMO_BEADS);
  if (previous && core.isLive(previous))
    throw Object.assign(new Error(`a demo job is still running; stop it with: ${bin} demo --clean`), {
      exitCode: 1,
      reasonCode: 'demo_running',
      nextAction: 'run_dx-runner_demo_--clean',
    });
  const dir = demoDir(core.ensureWorktreeBase(options.base, options.policy));
  removeDemoDir(dir);
  const worktree = makeDemoRepo(dir);
  await core.startJob({
    beads: DEMO_BEADS,
    provider: 'sim',
    scenario: options.scenario,
    registry: options.registry,
    worktree,
    policy: options.policy,
    env,
    version: options.version,
  });
  options.onProgress?.(`started ${DEMO_BEADS} (scenario ${scenario.name}) in ${worktree}`);
  let view = core.toJobView(core.requireJob(root, DEMO_BEADS));
  let shown = '';
  const deadline = Date.now() + DEMO_TIMEOUT_MS;
  for (;;) {
    const line = progressLine(view);
    const key = line.slice(12);
    if (key !== shown) options.onProgress?.(line);
    shown = key;
    if (core.isTerminal(view.state) || view.state === scenario.expect.state || Date.now() > deadline) break;
    await sleep(POLL_MS);
    view = core.toJobView(core.requireJob(root, DEMO_BEADS));
  }
  // a stall is shown, not left running
  if (!core.isTerminal(view.state)) {
    await core.stopJob(root, DEMO_BEADS, env);
    options.onProgress?.(`stopped ${DEMO_BEADS} (${view.state}) so nothing is left running`);
  }
  if (view.state !== scenario.expect.state)
    throw Object.assign(
      new Error(`the demo job ended ${view.state} (${view.reason_code ?? '-'}), not ${scenario.expect.state}`),
      { exitCode: 1, reasonCode: 'demo_unexpected_end', nextAction: `run_${bin}_report_${DEMO_BEADS}` },
    );
  return {
    beads: DEMO_BEADS,
    worktree,
    scenario: scenario.name,
    state: view.state,
    reason_code: view.reason_code,
    commands: inspectCommands(bin),
    cleaned: false,
  };
}

/** `demo --clean`: stop the demo job if it runs, forget it, remove its repository. */
export async function cleanDemo(core: Core, base: string, env: NodeJS.ProcessEnv = process.env): Promise<DemoOutput> {
  const root = core.openStateRoot({ env, create: false });
  const job = core.findLatestJob(root, DEMO_BEADS);
  if (job && core.isLive(job)) await core.stopJob(root, DEMO_BEADS, env);
  await core.forgetFinishedJob(root, DEMO_BEADS);
  const dir = demoDir(base);
  removeDemoDir(dir);
  return {
    beads: DEMO_BEADS,
    worktree: path.join(dir, 'repo'),
    scenario: null,
    state: null,
    reason_code: null,
    commands: [],
    cleaned: true,
  };
}
