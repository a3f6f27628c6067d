#!/usr/bin/env node
/**
 * dx-batch orchestration overhead: one wave of N items whose fake jobs finish at once (implement
 * writes a file and reports its contract; review approves). Prints wall time per item, the number
 * of dx-runner calls per item, and dx-batch's own CPU per item — what the orchestrator itself costs,
 * apart from the dx-runner processes it runs. Not a test: nothing here asserts a time.
 *
 *   node bench/batch.mjs [--items 200] [--max-parallel 3] [--poll-interval 0.2] [--no-review] [--hosts N]
 *                        [--via-process] [--history N] [--cpu-prof DIR]
 *
 * By default dx-batch runs the dx-runner it ships with, so its read-only calls (job state, report,
 * logs) are answered in-process; --via-process points DX_RUNNER_BIN at a wrapper script instead, so
 * every call is a dx-runner process (what a wave costs with any other dx-runner). Either way each
 * dx-runner process is counted (a --require hook in NODE_OPTIONS notes its command).
 *
 * --history N puts N finished jobs in dx-runner's state before the wave (a machine that has run
 * jobs before: retention keeps them for days), as bench/state.mjs writes them.
 *
 * --cpu-prof DIR writes a V8 CPU profile of dx-batch itself (not of the dx-runner processes) into DIR,
 * for finding where the orchestrator's time goes.
 *
 * --hosts N runs the wave over N real sshd "hosts" on 127.0.0.1 (the test helper's; needs Debian's
 * openssh-server and the dev dependency tsx), each with --max-parallel slots: every dx-runner call
 * then goes over ssh to the job's host.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const HOSTS_ARG = process.argv.indexOf('--hosts');
const HOSTS = HOSTS_ARG > 0 ? Number(process.argv[HOSTS_ARG + 1]) : 0;
// the sshd helper is TypeScript: run under tsx (a dev dependency) when hosts are asked for
if (HOSTS > 0 && !process.execArgv.some((a) => a.includes('tsx'))) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
const cli = path.join(root, 'packages/cli/bin/run.js');
const batch = path.join(root, 'packages/dx-batch/bin/run.js');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const ITEMS = Number(opt('items', '200'));
const PARALLEL = Number(opt('max-parallel', '3'));
const POLL_SEC = Number(opt('poll-interval', '0.2'));
const REVIEW = !args.includes('--no-review');
const VIA_PROCESS = args.includes('--via-process');
const HISTORY = Number(opt('history', '0'));

const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-bench-batch-')));
const agents = path.join(work, 'agents');
const calls = path.join(work, 'calls.log');
const env = {
  ...process.env,
  NODE_ENV: 'production',
  HOME: path.join(work, 'home'),
  TMPDIR: work,
  DX_RUNNER_DATA_DIR: path.join(work, 'data'),
  DX_RUNNER_STATE_DIR: path.join(work, 'state'),
  DX_BATCH_DIR: path.join(work, 'batch'),
  DX_RUNNER_EXTRA_ALLOWED_PREFIXES: agents,
  DX_RUNNER_MAX_PARALLEL_FAKE: '1000',
  DX_RUNNER_HEARTBEAT_INTERVAL_MS: '100',
  DX_RUNNER_MUTATION_POLL_SEC: '0.3',
  FAKE_AGENT_SCRIPTS: path.join(work, 'scripts'),
  DX_POLICY_FILE: path.join(work, 'policy.yaml'),
  // every Node process notes its command here when it is dx-runner's CLI (watchers and agents are not)
  NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${path.join(work, 'count-calls.cjs')}`.trim(),
  OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
};
delete env.DX_RUNNER_BIN;
fs.mkdirSync(env.HOME, { recursive: true });
fs.mkdirSync(env.FAKE_AGENT_SCRIPTS);
fs.writeFileSync(
  path.join(work, 'count-calls.cjs'),
  `if (process.argv[1] === ${JSON.stringify(cli)}) require('node:fs').appendFileSync(${JSON.stringify(calls)}, (process.argv[2] ?? '') + '\\n');\n`,
);
if (VIA_PROCESS) {
  env.DX_RUNNER_BIN = path.join(work, 'dx-runner');
  fs.writeFileSync(env.DX_RUNNER_BIN, `#!/bin/sh\nexec '${process.execPath}' '${cli}' "$@"\n`, { mode: 0o755 });
}
fs.writeFileSync(
  env.DX_POLICY_FILE,
  `batch:\n  retry_chain: [fake]\n  review_chain: [fake]\n  poll_interval_sec: ${POLL_SEC}\n  exec_process_cap: 1000\n`,
);
const hostNames = Array.from({ length: HOSTS }, (_, i) => `h${i + 1}`);
let fleet;
if (HOSTS > 0) {
  const { startFleet } = await import(path.join(root, 'test/helpers/sshd.ts'));
  const shared = [
    'DX_RUNNER_DATA_DIR',
    'DX_RUNNER_EXTRA_ALLOWED_PREFIXES',
    'DX_RUNNER_MAX_PARALLEL_FAKE',
    'DX_RUNNER_HEARTBEAT_INTERVAL_MS',
    'DX_RUNNER_MUTATION_POLL_SEC',
    'FAKE_AGENT_SCRIPTS',
  ];
  fleet = await startFleet(path.join(work, 'fleet'), hostNames, () =>
    Object.fromEntries(shared.map((k) => [k, env[k]])),
  );
  // each host's dx-runner counts its calls in the same log
  for (const host of Object.values(fleet.hosts))
    fs.writeFileSync(
      path.join(host.dir, 'bin', 'dx-runner'),
      `#!/bin/sh\nexec '${process.execPath}' --require '${path.join(work, 'count-calls.cjs')}' '${cli}' "$@"\n`,
      { mode: 0o755 },
    );
  fs.appendFileSync(
    env.DX_POLICY_FILE,
    `fleet:\n  hosts:\n${hostNames.map((h) => `    ${h}: {ssh: ${h}, max_parallel: ${PARALLEL}, providers: [fake]}\n`).join('')}  ssh: {config: ${fleet.config}}\n`,
  );
}
fs.writeFileSync(
  path.join(env.FAKE_AGENT_SCRIPTS, 'default.implement.json'),
  JSON.stringify({
    steps: [
      { write: 'done.txt', content: 'x' },
      { contract: { status: 'completed', artifacts: { files_changed: ['done.txt'], commits: [] }, summary: 'ok' } },
    ],
  }),
);
fs.writeFileSync(
  path.join(env.FAKE_AGENT_SCRIPTS, 'default.review.json'),
  JSON.stringify({ steps: [{ contract: { verdict: 'APPROVED', findings: [], summary: 'ok' } }] }),
);

const git = (cwd, ...a) =>
  spawnSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', ...a], { cwd, stdio: 'ignore' });
try {
  const link = spawnSync(
    process.execPath,
    [cli, 'plugins', 'link', path.join(root, 'test/fixtures/provider-fake'), '--no-install'],
    { env, encoding: 'utf8' },
  );
  if (link.status !== 0) throw new Error(`plugins link failed: ${link.stderr}`);
  if (HISTORY > 0) (await import('./state.mjs')).populate(env.DX_RUNNER_STATE_DIR, HISTORY, agents);
  const ids = Array.from({ length: ITEMS }, (_, i) => `bd-b${i}`);
  for (const id of ids) {
    const repo = path.join(agents, id, 'repo');
    fs.mkdirSync(repo, { recursive: true });
    git(repo, 'init', '-q');
    git(repo, 'commit', '-q', '--allow-empty', '-m', 'init');
  }
  // dx-batch in-process under a tiny wrapper that records its own CPU time at exit
  const cpuFile = path.join(work, 'cpu.json');
  const wrapper = path.join(work, 'measured-dx-batch.mjs');
  fs.writeFileSync(
    wrapper,
    [
      `import fs from 'node:fs';`,
      // CPU time and bytes written (Linux's /proc/self/io wchar: every write(2) of the process)
      `const written = () => Number(/^wchar: (\\d+)/m.exec(fs.readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);`,
      `process.on('exit', () => fs.writeFileSync(${JSON.stringify(cpuFile)}, JSON.stringify({ ...process.cpuUsage(), wchar: written() })));`,
      `await import(${JSON.stringify(batch)});`,
    ].join('\n'),
  );
  const argv = [
    'start',
    '--items',
    ids.join(','),
    '--wave-id',
    'bench',
    '--max-parallel',
    String(PARALLEL * Math.max(1, HOSTS)),
    ...(HOSTS > 0 ? ['--hosts', hostNames.join(',')] : []),
    '--worktree-base',
    agents,
    '--json',
    ...(REVIEW ? [] : ['--no-review']),
  ];
  const t0 = process.hrtime.bigint();
  const profile = opt('cpu-prof', undefined);
  const profileArgs = profile ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(profile)}`] : [];
  const r = spawnSync(process.execPath, [...profileArgs, wrapper, ...argv], {
    env,
    encoding: 'utf8',
    cwd: work,
    maxBuffer: 64 << 20,
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const wave = JSON.parse(r.stdout);
  const approved = wave.items.filter((i) => i.status === 'APPROVED').length;
  if (approved !== ITEMS) {
    const why = {};
    for (const i of wave.items.filter((x) => x.status !== 'APPROVED'))
      for (const a of i.attempts)
        why[`${i.status} ${a.phase} ${a.result} ${a.reason_code}`] =
          (why[`${i.status} ${a.phase} ${a.result} ${a.reason_code}`] ?? 0) + 1;
    console.error(`only ${approved}/${ITEMS} approved; attempts of the others:`, why);
    if (process.env.BENCH_KEEP) console.error(`kept ${work}`);
  }
  const cpu = JSON.parse(fs.readFileSync(cpuFile, 'utf8'));
  const byCommand = {};
  for (const c of fs.readFileSync(calls, 'utf8').trim().split('\n')) byCommand[c] = (byCommand[c] ?? 0) + 1;
  const total = Object.values(byCommand).reduce((a, b) => a + b, 0);
  const result = {
    items: ITEMS,
    hosts: HOSTS,
    max_parallel: PARALLEL * Math.max(1, HOSTS),
    review: REVIEW,
    history: HISTORY,
    poll_interval_sec: POLL_SEC,
    reads: VIA_PROCESS ? 'dx-runner processes' : 'in-process',
    wall_sec: Math.round(wallMs / 100) / 10,
    wall_ms_per_item: Math.round(wallMs / ITEMS),
    dx_batch_cpu_ms_per_item: Math.round((cpu.user + cpu.system) / 1000 / ITEMS),
    dx_batch_kb_written_per_item: Math.round(cpu.wchar / 1024 / ITEMS),
    dx_runner_calls_per_item: Math.round((total / ITEMS) * 10) / 10,
    dx_runner_calls: byCommand,
  };
  console.log(JSON.stringify(result, null, 2));
  fs.mkdirSync(path.join(root, 'bench', '.out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', '.out', 'batch.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  // every job has ended by the time the wave completes; the hosts' shared connections and sshd go
  await fleet?.cleanup([path.join(work, `dx-runner-ssh-${process.getuid?.() ?? 'user'}`)]);
  if (!process.env.BENCH_KEEP) fs.rmSync(work, { recursive: true, force: true });
}
