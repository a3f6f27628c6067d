#!/usr/bin/env node
/**
 * What the fleet's SSH hop costs. Starts real OpenSSH servers on 127.0.0.1 (the test helper's, so
 * it needs Debian's openssh-server and the dev dependency tsx) and prints medians of:
 *   - `check --json` of one job: local vs `--host` over the shared (ControlMaster) connection;
 *   - `fleet status` over 1 vs 3 hosts (queried side by side);
 * with `node -e 0` as the floor. Not a test: nothing here asserts a time.
 *
 *   node bench/fleet.mjs [--runs 9]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// the sshd helper is TypeScript: run under tsx (a dev dependency) when not already
if (!process.execArgv.some((a) => a.includes('tsx'))) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...process.argv.slice(1)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { startFleet } = await import(path.join(root, 'test/helpers/sshd.ts'));
const cli = path.join(root, 'packages/cli/bin/run.js');
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1] || 9) || 9;

const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-bench-fleet-')));
const agents = path.join(work, 'agents');
const env = {
  PATH: process.env.PATH,
  LANG: 'C.UTF-8',
  NODE_ENV: 'production',
  HOME: path.join(work, 'home'),
  TMPDIR: work,
  DX_RUNNER_STATE_DIR: path.join(work, 'state'),
  DX_RUNNER_EXTRA_ALLOWED_PREFIXES: agents,
  OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
};
fs.mkdirSync(env.HOME, { recursive: true });

function run(argv) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8' });
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, status: r.status, stderr: r.stderr };
}
function time(label, argv, ok = [0]) {
  run(argv); // warm: the page cache, and the ssh master for --host
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const r = run(argv);
    if (!ok.includes(r.status)) throw new Error(`${label}: exit ${r.status}\n${r.stderr}`);
    samples.push(r.ms);
  }
  samples.sort((a, b) => a - b);
  return { label, median_ms: Math.round(samples[Math.floor(samples.length / 2)] * 10) / 10 };
}

const fleet = await startFleet(path.join(work, 'fleet'), ['h1', 'h2', 'h3'], () => ({
  DX_RUNNER_EXTRA_ALLOWED_PREFIXES: agents,
}));
try {
  const policy = (hosts) => {
    const file = path.join(work, `policy-${hosts.length}.yaml`);
    fs.writeFileSync(
      file,
      `fleet:\n  hosts:\n${hosts.map((h) => `    ${h}: {ssh: ${h}, providers: [sim]}\n`).join('')}  ssh: {config: ${fleet.config}}\n`,
    );
    return file;
  };
  const one = policy(['h1']);
  const three = policy(['h1', 'h2', 'h3']);
  // one finished job here and on h1
  for (const [where, extra] of [
    ['local', []],
    ['h1', ['--host', 'h1', '--policy', one]],
  ]) {
    const wt = path.join(agents, `bd-bench-${where}`, 'repo');
    fs.mkdirSync(wt, { recursive: true });
    spawnSync('git', ['init', '-q', wt]);
    const start = ['start', '--beads', 'bd-bench', '--provider', 'sim', '--worktree', wt, ...extra];
    if (run([process.execPath, cli, ...start]).status !== 0) throw new Error(`start on ${where} failed`);
    run([process.execPath, cli, 'wait', 'bd-bench', '--timeout', '60', ...extra]);
  }
  const rows = [
    time('node -e 0', [process.execPath, '-e', '0']),
    time('check --json, local', [process.execPath, cli, 'check', 'bd-bench', '--json']),
    time('check --json --host (warm connection)', [
      process.execPath,
      cli,
      'check',
      'bd-bench',
      '--json',
      '--host',
      'h1',
      '--policy',
      one,
    ]),
    // the hop alone: a remote `true` over the connection dx-runner shares (same ControlPath)
    time('ssh h1 true, over the shared connection', [
      'ssh',
      '-F',
      fleet.config,
      '-o',
      'ControlMaster=auto',
      '-o',
      `ControlPath=${path.join(work, `dx-runner-ssh-${process.getuid?.() ?? 'user'}`, '%C')}`,
      '-o',
      'ControlPersist=300s',
      'h1',
      'true',
    ]),
    time('fleet status, local + 1 host', [process.execPath, cli, 'fleet', 'status', '--json', '--policy', one]),
    time('fleet status, local + 3 hosts', [process.execPath, cli, 'fleet', 'status', '--json', '--policy', three]),
  ];
  const floor = rows[0].median_ms;
  console.log(`median of ${RUNS} runs, ${os.cpus().length} cores, Node ${process.version}`);
  console.log('| measurement | median ms | × `node -e 0` |\n|---|---|---|');
  for (const r of rows) console.log(`| ${r.label} | ${r.median_ms} | ${(r.median_ms / floor).toFixed(2)} |`);
  console.log(
    `check --host − check local: ${(rows[2].median_ms - rows[1].median_ms).toFixed(1)} ms (the hop plus the host's own dx-runner start)`,
  );
} finally {
  await fleet.cleanup([path.join(work, `dx-runner-ssh-${process.getuid?.() ?? 'user'}`)]);
  fs.rmSync(work, { recursive: true, force: true });
}
