#!/usr/bin/env node
/* global document, performance -- functions passed to page.waitForFunction run in the browser */
/**
 * `dx-runner dashboard` with many recorded jobs, in a real headless Chromium (Debian's chromium via
 * playwright-core; DX_CHROMIUM points elsewhere). Not a test: nothing here asserts a time.
 *
 *   node bench/dashboard.mjs [--jobs 1000] [--loads 5] [--changes 10]
 *
 * - first render: from navigation start until the jobs view shows its first page of rows (200, newest
 *   first, with the counts of all) (median of --loads);
 * - push latency: from rewriting one job's outcome (atomically, as the watcher does) until that row
 *   shows its new state on an open page — file-system notification → SSE → DOM (median of --changes);
 * - the server's RSS and private memory after all of it.
 * Results also go to bench/.out/dashboard.json.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { populate, rewriteOutcome } from './state.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(root, 'packages/cli/bin/run.js');
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const JOBS = opt('jobs', 1000);
const LOADS = opt('loads', 5);
const CHANGES = opt('changes', 10);
/** The jobs view shows its first page of rows (app.js PAGE_ROWS); the rest come with "show more". */
const SHOWN = Math.min(JOBS, 200);
const CHROMIUM = process.env.DX_CHROMIUM ?? '/usr/bin/chromium';
if (!fs.existsSync(CHROMIUM)) {
  console.log(`skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set DX_CHROMIUM)`);
  process.exit(0);
}
const { chromium } = await import('playwright-core');

const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const round = (ms) => Math.round(ms * 10) / 10;

const work = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-bench-dash-')));
const stateDir = path.join(work, 'state');
fs.mkdirSync(path.join(work, 'home'), { recursive: true });
populate(stateDir, JOBS, work);
const env = {
  PATH: process.env.PATH,
  HOME: path.join(work, 'home'),
  TMPDIR: work,
  NODE_ENV: 'production',
  DX_RUNNER_STATE_DIR: stateDir,
  DX_BATCH_DIR: path.join(work, 'batch'),
  NIGHTLY_DISPATCH_DIR: path.join(work, 'nightly'),
  OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
};

const server = spawn(process.execPath, [cli, 'dashboard', '--port', '0', '--json'], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let browser;
try {
  const url = await new Promise((resolve, reject) => {
    let buffer = '';
    server.stdout.on('data', (c) => {
      buffer += c;
      const line = buffer.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve(JSON.parse(line).url);
    });
    server.once('exit', (code) => reject(new Error(`dashboard exited ${code}`)));
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] });

  const renders = [];
  for (let i = 0; i < LOADS + 1; i++) {
    const page = await browser.newPage();
    const t0 = performance.now();
    await page.goto(url);
    await page.waitForFunction((n) => document.querySelectorAll('#jobs-table tbody tr').length === n, SHOWN, {
      timeout: 60_000,
      polling: 'raf',
    });
    if (i > 0) renders.push(performance.now() - t0); // the first load warms the server and the browser
    await page.close();
  }

  const page = await browser.newPage();
  await page.goto(url);
  await page.waitForFunction((n) => document.querySelectorAll('#jobs-table tbody tr').length === n, SHOWN, {
    timeout: 60_000,
  });
  const pushes = [];
  const beads = `bd-bench-${JOBS - 1}`; // the newest finished job: on the first page
  for (let i = 0; i < CHANGES; i++) {
    const failed = i % 2 === 0;
    const want = failed ? 'exited_err' : 'exited_ok';
    const t0 = performance.now();
    rewriteOutcome(stateDir, beads, { state: failed ? 'failed' : 'success', exit_code: failed ? 1 : 0 });
    await page.waitForFunction(
      ([b, w]) => document.querySelector(`#jobs-table tr[data-beads="${b}"] td.state`)?.textContent === w,
      [beads, want],
      { timeout: 30_000, polling: 'raf' },
    );
    pushes.push(performance.now() - t0);
  }

  const status = fs.readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  const rollup = fs.readFileSync(`/proc/${server.pid}/smaps_rollup`, 'utf8');
  const ussKb = ['Private_Clean', 'Private_Dirty'].reduce(
    (n, k) => n + Number(new RegExp(`${k}:\\s+(\\d+)`).exec(rollup)[1]),
    0,
  );
  const result = {
    jobs: JOBS,
    first_render_ms: round(median(renders)),
    push_latency_ms: round(median(pushes)),
    server_rss_mib: round(rssKb / 1024),
    server_uss_mib: round(ussKb / 1024),
    loads: renders.length,
    changes: pushes.length,
  };
  console.log(`dashboard, ${JOBS} recorded jobs (Chromium ${browser.version()})`);
  console.log(`  first render of the jobs view   ${result.first_render_ms} ms (median of ${renders.length})`);
  console.log(`  push latency of one job change  ${result.push_latency_ms} ms (median of ${pushes.length})`);
  console.log(
    `  server memory                   RSS ${result.server_rss_mib} MiB, private ${result.server_uss_mib} MiB`,
  );
  fs.mkdirSync(path.join(root, 'bench', '.out'), { recursive: true });
  fs.writeFileSync(path.join(root, 'bench', '.out', 'dashboard.json'), `${JSON.stringify(result, null, 2)}\n`);
} finally {
  await browser?.close();
  server.kill('SIGTERM');
  await new Promise((r) => (server.exitCode !== null ? r() : server.once('exit', r)));
  fs.rmSync(work, { recursive: true, force: true });
}
