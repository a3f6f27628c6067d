#!/usr/bin/env node
/**
 * The watcher's CPU per 100 MB of agent output, with the log capped (limits.max_log_mb 50, the
 * default) and uncapped (a cap larger than the output). Each run is a real job whose fake agent
 * prints the given volume; the watcher records its own CPU time in the outcome (watcher_cpu_ms).
 * Not a test: nothing is asserted.
 *
 *   node bench/disk.mjs [--mb 100] [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/cli/bin/run.js');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
const MB_OUT = Number(opt('mb', '100'));
const RUNS = Number(opt('runs', '3'));

const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-bench-disk-')));
const env = {
  ...process.env,
  NODE_ENV: 'production',
  HOME: path.join(work, 'home'),
  DX_RUNNER_STATE_DIR: path.join(work, 'state'),
  DX_RUNNER_DATA_DIR: path.join(work, 'data'),
  DX_RUNNER_EXTRA_ALLOWED_PREFIXES: path.join(work, 'agents'),
  OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
};
fs.mkdirSync(env.HOME, { recursive: true });
const sh = (cmd, argv, cwd) => {
  const r = spawnSync(cmd, argv, { env, cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
sh(process.execPath, [cli, 'plugins', 'link', path.join(root, 'test/fixtures/provider-fake'), '--no-install']);
const wt = path.join(work, 'agents', 'bench', 'repo');
fs.mkdirSync(wt, { recursive: true });
sh('git', ['init', '-q'], wt);
sh('git', ['-c', 'user.name=b', '-c', 'user.email=b@b', 'commit', '-q', '--allow-empty', '-m', 'init'], wt);

const LINE = 'bench: an agent printing the same line of output over and over to flood its log\n';
const times = Math.round((MB_OUT * 1024 * 1024) / LINE.length);
const prompt = path.join(work, 'prompt.json');
fs.writeFileSync(
  prompt,
  JSON.stringify({
    steps: [{ print_repeat: { text: LINE, times } }, { write: 'x.txt', content: 'x' }, { result: 'done' }, { exit: 0 }],
  }),
);

function job(label, maxLogMb) {
  const policy = path.join(work, `${label}.yaml`);
  fs.writeFileSync(policy, `limits:\n  max_log_mb: ${maxLogMb}\n  max_output_mb: ${MB_OUT * 4}\n`);
  const samples = [];
  for (let i = 0; i < RUNS; i++) {
    const beads = `bd-${label}-${i}`;
    sh(process.execPath, [
      cli,
      'start',
      '--beads',
      beads,
      '--provider',
      'fake',
      '--prompt-file',
      prompt,
      '--worktree',
      wt,
      '--policy',
      policy,
    ]);
    const outcome = path.join(env.DX_RUNNER_STATE_DIR, 'fake', `${beads}.outcome`);
    const deadline = Date.now() + 300_000;
    while (!fs.existsSync(outcome) && Date.now() < deadline) spawnSync('sleep', ['0.2']);
    const kv = Object.fromEntries(
      fs
        .readFileSync(outcome, 'utf8')
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    samples.push({
      cpuMs: Number(kv.watcher_cpu_ms),
      logBytes: Number(kv.log_bytes),
      total: Number(kv.log_bytes_total),
    });
  }
  const cpu = samples.map((s) => s.cpuMs).sort((a, b) => a - b)[Math.floor(samples.length / 2)];
  const per100 = (cpu / (samples[0].total / (100 * 1024 * 1024))).toFixed(0);
  return {
    label,
    max_log_mb: maxLogMb,
    output_mb: (samples[0].total / 1048576).toFixed(1),
    log_mb_on_disk: (samples[0].logBytes / 1048576).toFixed(1),
    watcher_cpu_ms_median: cpu,
    watcher_cpu_ms_per_100mb: Number(per100),
  };
}

const rows = [job('capped', 50), job('uncapped', MB_OUT * 2)];
console.table(rows);
fs.mkdirSync(path.join(root, 'bench', '.out'), { recursive: true });
fs.writeFileSync(
  path.join(root, 'bench', '.out', 'disk.json'),
  `${JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2)}\n`,
);
fs.rmSync(work, { recursive: true, force: true });
