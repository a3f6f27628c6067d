#!/usr/bin/env node
/**
 * dx-runner latency and footprint benchmark. Prints medians and ratios against `node -e 0` and
 * `dx-runner --version`; writes bench/.out/latest.json. Not a test: nothing here asserts a time.
 *
 *   node bench/run.mjs [--runs 10] [--sizes 1,100,1000] [--live 10]
 *
 * Recorded jobs are synthesised as state files (meta + heartbeat + outcome, as the watcher would
 * leave them) so a 1,000-job state dir takes seconds to build; live jobs are real fake-agent jobs.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { populate } from './state.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/cli/bin/run.js');
const core = await import(path.join(root, 'packages/core/dist/index.js'));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const RUNS = Number(opt('runs', '10'));
const SIZES = opt('sizes', '1,100,1000').split(',').map(Number);
const LIVE = Number(opt('live', '10'));

const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-bench-')));
const env = {
  ...process.env,
  NODE_ENV: 'production',
  HOME: path.join(work, 'home'),
  DX_RUNNER_DATA_DIR: path.join(work, 'data'),
  DX_RUNNER_EXTRA_ALLOWED_PREFIXES: path.join(work, 'agents'),
  DX_RUNNER_MAX_PARALLEL_FAKE: '100000',
  OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
};
fs.mkdirSync(env.HOME, { recursive: true });

function run(cmd, argv, extraEnv = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, argv, {
    env: { ...env, ...extraEnv },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(label, cmd, argv, extraEnv, runs = RUNS, expectStatus = [0]) {
  run(cmd, argv, extraEnv); // warm the page cache
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const r = run(cmd, argv, extraEnv);
    if (!expectStatus.includes(r.status)) throw new Error(`${label}: exit ${r.status}\n${r.stderr}`);
    samples.push(r.ms);
  }
  return { label, median_ms: Math.round(median(samples) * 10) / 10, runs };
}

function git(cwd, ...a) {
  spawnSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...a], { cwd, stdio: 'ignore' });
}

/** RSS counts the shared node binary in every process; Private_* (USS) is what one more job costs. */
function memoryKb(pid) {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
  return { rss: field('Rss'), pss: field('Pss'), uss: field('Private_Clean') + field('Private_Dirty') };
}

const results = { node: process.version, cpus: os.cpus().length, date: new Date().toISOString(), rows: [] };
try {
  const link = run(process.execPath, [
    cli,
    'plugins',
    'link',
    path.join(root, 'test/fixtures/provider-fake'),
    '--no-install',
  ]);
  if (link.status !== 0) throw new Error(`plugins link failed: ${link.stderr}`);
  // one worktree per job, as in real use (dx-runner refuses a second live job in a worktree)
  const newWorktree = (name) => {
    const dir = path.join(work, 'agents', name, 'repo');
    fs.mkdirSync(dir, { recursive: true });
    git(dir, 'init', '-q');
    git(dir, 'commit', '-q', '--allow-empty', '-m', 'init');
    return dir;
  };
  const worktree = newWorktree('bench');

  const nodeBase = time('node -e 0', process.execPath, ['-e', '0']);
  const version = time('dx-runner --version', process.execPath, [cli, '--version']);
  results.rows.push(nodeBase, version);

  for (const n of SIZES) {
    const stateDir = path.join(work, `state-${n}`);
    populate(stateDir, n, worktree);
    const e = { DX_RUNNER_STATE_DIR: stateDir };
    // the default status (running jobs, finished ones counted) and one that lists every job
    results.rows.push(time(`status --json (${n} jobs)`, process.execPath, [cli, 'status', '--json'], e));
    results.rows.push(
      time(
        `status --json --recent ${n} (${n} jobs)`,
        process.execPath,
        [cli, 'status', '--json', '--recent', String(n)],
        e,
      ),
    );
    results.rows.push(
      time(`check --json (${n} jobs)`, process.execPath, [cli, 'check', '--beads', 'bd-bench-0', '--json'], e),
    );
  }

  // start → acknowledged launch, with a real watcher and fake agent each time
  const startState = path.join(work, 'state-start');
  const prompt = path.join(work, 'hang.json');
  fs.writeFileSync(prompt, JSON.stringify({ steps: [{ message: 'bench' }, { hang: true }] }));
  const startSamples = [];
  for (let i = 0; i < RUNS; i++) {
    const startWorktree = newWorktree(`bd-start-${i}`);
    const r = run(
      process.execPath,
      [
        cli,
        'start',
        '--beads',
        `bd-start-${i}`,
        '--provider',
        'fake',
        '--prompt-file',
        prompt,
        '--worktree',
        startWorktree,
      ],
      { DX_RUNNER_STATE_DIR: startState },
    );
    if (r.status !== 0) throw new Error(`start failed: ${r.stderr}`);
    startSamples.push(r.ms);
  }
  results.rows.push({
    label: 'start → acknowledged launch',
    median_ms: Math.round(median(startSamples) * 10) / 10,
    runs: RUNS,
  });

  // watcher memory per live job
  const liveState = path.join(work, 'state-live');
  const rss = [];
  for (let i = 0; i < LIVE; i++) {
    const r = run(
      process.execPath,
      [
        cli,
        'start',
        '--beads',
        `bd-live-${i}`,
        '--provider',
        'fake',
        '--prompt-file',
        prompt,
        '--worktree',
        newWorktree(`bd-live-${i}`),
        '--json',
      ],
      { DX_RUNNER_STATE_DIR: liveState },
    );
    if (r.status !== 0) throw new Error(`start failed: ${r.stderr}`);
  }
  await new Promise((r) => setTimeout(r, 2000));
  for (const job of core.listJobs(liveState)) if (job.meta?.watcher_pid) rss.push(memoryKb(job.meta.watcher_pid));
  const liveStatus = time(`status --json (${LIVE} live jobs)`, process.execPath, [cli, 'status', '--json'], {
    DX_RUNNER_STATE_DIR: liveState,
  });
  results.rows.push(liveStatus);
  const stat = (k) => ({ median: median(rss.map((m) => m[k])), max: Math.max(...rss.map((m) => m[k])) });
  results.watcher_memory_kb = { rss: stat('rss'), pss: stat('pss'), uss: stat('uss'), jobs: rss.length };
  for (const dir of [startState, liveState])
    for (const job of core.listJobs(dir))
      await core.endJob(
        job,
        { action: 'stop', reason: 'bench_done', exitCode: 137 },
        { ...env, DX_RUNNER_KILL_GRACE_SEC: '1' },
      );

  const base = nodeBase.median_ms;
  const ver = version.median_ms;
  const pad = (s, n) => String(s).padEnd(n);
  console.log(`\n${pad('measurement', 40)} ${pad('median ms', 10)} ${pad('× node -e 0', 12)} × dx-runner --version`);
  for (const r of results.rows) {
    r.ratio_node = Math.round((r.median_ms / base) * 100) / 100;
    r.ratio_version = Math.round((r.median_ms / ver) * 100) / 100;
    console.log(`${pad(r.label, 40)} ${pad(r.median_ms, 10)} ${pad(r.ratio_node, 12)} ${r.ratio_version}`);
  }
  const mib = (kb) => (kb / 1024).toFixed(1);
  const m = results.watcher_memory_kb;
  console.log(
    `\nwatcher memory per live job (${m.jobs} jobs, median): RSS ${mib(m.rss.median)} MiB, PSS ${mib(m.pss.median)} MiB, private (USS) ${mib(m.uss.median)} MiB`,
  );
  fs.mkdirSync(path.join(root, 'bench', '.out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', '.out', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  for (const d of fs.readdirSync(work))
    if (d.startsWith('state-'))
      for (const job of core.listJobs(path.join(work, d))) {
        const hb = job.heartbeat;
        if (hb?.agent_pid && job.agentAlive)
          core.signalGroup({ pid: hb.agent_pid, startTicks: hb.agent_start_ticks ?? 0 }, 'SIGKILL');
        if (job.watcherAlive && job.meta?.watcher_pid)
          core.signalProcess({ pid: job.meta.watcher_pid, startTicks: job.meta.watcher_start_ticks ?? 0 }, 'SIGKILL');
      }
  fs.rmSync(work, { recursive: true, force: true });
}
