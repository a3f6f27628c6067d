/// <reference lib="dom" />
/**
 * `dx-runner dashboard` in a real headless Chromium (Debian's chromium through playwright-core) over
 * a state root the real tools wrote: dx-runner jobs (running and finished), a dx-batch wave and a
 * nightly-dispatch night. A screenshot of each view is left in test/.screenshots.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckOutputSchema, StatusOutputSchema } from '@dx/core';
import {
  DashboardListeningSchema,
  HostsResponseSchema,
  JobDetailSchema,
  JobsResponseSchema,
  NightsResponseSchema,
  ProvidersResponseSchema,
  WaveDetailSchema,
  WavesResponseSchema,
} from '@dx/dashboard';
import { NightReportSchema } from '@dx/nightly-dispatch';
import { createBatchFixture } from '../helpers/batch.js';
import { createBeadsWorkspace } from '../helpers/beads.js';
import {
  hasChromium,
  launchBrowser,
  SCREENSHOTS,
  startDashboardProcess,
  type DashboardProcess,
} from '../helpers/dashboard.js';
import { BD_STUB_DIR, NIGHTLY_BIN } from '../helpers/paths.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

const KEY = 'zk-test-SECRET-dashboard-0123456789';
const XSS = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2</script>';
const XSS_FILE = '<img src=x onerror=window.__xss=3>.txt';

let sb: Sandbox;
let dash: DashboardProcess;
let browser: Browser;
let page: Page;
const dialogs: string[] = [];
const pageErrors: string[] = [];

async function api<T>(pathname: string, schema: { parse(v: unknown): T }): Promise<T> {
  const res = await fetch(new URL(pathname, dash.url));
  expect(res.status, pathname).toBe(200);
  return schema.parse(await res.json());
}

async function view(hash: string, shot: string): Promise<void> {
  const before = await page.evaluate(() => document.body.dataset.rendered ?? '');
  await page.goto(`${dash.url}#/${hash}`);
  await page.waitForFunction((b) => (document.body.dataset.rendered ?? '') !== b, before, { timeout: 15_000 });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${shot}.png`), fullPage: true });
}

const rowState = (beads: string) =>
  page.locator(`#jobs-table tr[data-beads="${beads}"] td.state`).textContent({ timeout: 5_000 });

describe.skipIf(!hasChromium() && !process.env.CI)('dx-runner dashboard in headless Chromium', () => {
  beforeAll(async () => {
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    sb = createSandbox({ ZHIPU_API_KEY: KEY, PATH: `${BD_STUB_DIR}:${process.env.PATH}` });

    // a dx-batch wave of two items (implement → review)
    const fixture = createBatchFixture(sb);
    const wave = await sb.batch([
      'start',
      '--items',
      fixture.items(['bd-w1', 'bd-w2']),
      '--wave-id',
      'w-dash',
      '--json',
    ]);
    expect(wave.code, wave.stderr).toBe(0);

    // a finished job whose agent wrote markup, a secret and a file named like markup
    const hostile = sb.prompt({
      steps: [
        { message: `my key is \${env:ZHIPU_API_KEY} ${XSS}` },
        { write: XSS_FILE, content: 'x\n' },
        { usage: { input: 1200, output: 340 } },
        { result: XSS },
        { exit: 0 },
      ],
    });
    const started = await sb.dx([
      'start',
      '--beads',
      'bd-xss',
      '--provider',
      'fake',
      '--prompt-file',
      hostile,
      '--worktree',
      sb.worktree('bd-xss'),
    ]);
    expect(started.code, started.stderr).toBe(0);
    // a job that keeps running until the test stops it
    const long = sb.prompt({ steps: [{ message: 'working on it' }, { sleep: 300_000 }, { exit: 0 }] });
    const running = await sb.dx([
      'start',
      '--beads',
      'bd-run',
      '--provider',
      'fake',
      '--prompt-file',
      long,
      '--worktree',
      sb.worktree('bd-run'),
    ]);
    expect(running.code, running.stderr).toBe(0);
    await waitFor(
      async () => (await sb.dxJson(['check', 'bd-xss'], CheckOutputSchema)).json.outcome_state !== null,
      'bd-xss finished',
    );

    // a simulated night through nightly-dispatch and the bd stub
    const beads = createBeadsWorkspace(path.join(sb.dir, 'workspace'));
    for (const id of ['bd-n1', 'bd-n2']) {
      beads.create(id);
      sb.worktree(id);
    }
    Object.assign(sb.env, { BEADS_DIR: beads.beadsDir, NIGHTLY_DISPATCH_DIR: path.join(sb.dir, 'nightly') });
    const night = await sb.bin(NIGHTLY_BIN, ['run', '--json', '--simulate', 'opencode-rate-limited'], {
      timeoutMs: 120_000,
    });
    expect(night.stdout, night.stderr).toContain('"run_id"');
    // the night after, once the job it dispatched ended: its report says how that job ended
    const dispatched = NightReportSchema.parse(JSON.parse(night.stdout)).items.filter((i) => i.action === 'dispatched');
    for (const i of dispatched)
      await waitFor(
        async () => (await sb.dxJson(['check', i.beads_id], CheckOutputSchema)).json.outcome_state !== null,
        `${i.beads_id} ended`,
      );
    // nothing new to dispatch that night (the rest of the views count the jobs there are)
    for (const i of NightReportSchema.parse(JSON.parse(night.stdout)).items)
      if (i.action !== 'dispatched') beads.bd('update', i.beads_id, '--status', 'deferred', '--json');
    const after = await sb.bin(NIGHTLY_BIN, ['run', '--json', '--simulate', 'opencode-rate-limited'], {
      timeoutMs: 120_000,
    });
    expect(NightReportSchema.parse(JSON.parse(after.stdout)).finished.map((f) => f.beads_id)).toEqual(
      dispatched.map((i) => i.beads_id),
    );

    dash = await startDashboardProcess(['--json'], sb.env);
    browser = await launchBrowser(sb.dir);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await dash?.stop();
    await sb?.cleanup();
  });

  it('jobs: every recorded job is a row, live first, with its state, provider and tokens', async () => {
    const status = await sb.dxJson(['status', '--recent', '1000'], StatusOutputSchema);
    await view('jobs', 'jobs');
    const shown = await page
      .locator('#jobs-table tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-beads')));
    expect(new Set(shown)).toEqual(new Set(status.json.jobs.map((j) => j.beads)));
    expect(shown[0]).toBe('bd-run');
    expect(await rowState('bd-run')).toMatch(/launching|healthy/);
    expect(await rowState('bd-xss')).toBe('exited_ok');
    const xssRow = page.locator('#jobs-table tr[data-beads="bd-xss"]');
    expect(await xssRow.textContent()).toContain('1,200 / 340');

    // the filter narrows the table to one provider
    await page.selectOption('select[name="provider"]', 'fake');
    const providers = await page.locator('#jobs-table tbody tr td:nth-child(3)').allTextContents();
    expect(providers.length).toBeGreaterThan(0);
    expect(new Set(providers)).toEqual(new Set(['fake']));

    const body = await api('/api/jobs', JobsResponseSchema);
    expect(body.jobs.map((j) => j.beads).sort()).toEqual([...shown].sort());
  });

  it('job: outcome, evidence, a timeline, the redacted log tail and the commands to act on it', async () => {
    await view('job/bd-xss', 'job');
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).toContain(XSS_FILE);
    expect(text).toContain('dx-runner stop --beads bd-xss');
    expect(text).toContain('dx-runner restart --beads bd-xss');
    const kinds = await page.locator('ol.timeline li .badge').allTextContents();
    expect(kinds).toEqual(expect.arrayContaining(['start', 'launch', 'end']));
    const log = (await page.locator('pre.log').textContent()) ?? '';
    expect(log).toContain('[REDACTED]');
    expect(log).not.toContain(KEY);
    const detail = await api('/api/jobs/bd-xss', JobDetailSchema);
    expect(JSON.stringify(detail)).not.toContain(KEY);
    expect(detail.report.evidence.changed_files).toContain(XSS_FILE);
  });

  it('what an agent wrote stays text: no dialog, no script, the characters shown as written', async () => {
    await view('jobs', 'jobs-xss');
    expect(await page.locator('#jobs-table tr[data-beads="bd-xss"] td.summary').textContent()).toBe(XSS);
    await view('job/bd-xss', 'job-xss');
    expect(await page.locator('.final-text').textContent()).toBe(XSS);
    expect(await page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('waves: the wave, its items × attempts as a timeline, counts and tokens', async () => {
    const list = await api('/api/waves', WavesResponseSchema);
    expect(list.waves.map((w) => w.wave_id)).toEqual(['w-dash']);
    await view('waves', 'waves');
    expect(await page.locator('#waves-table tr[data-wave="w-dash"]').textContent()).toContain('completed');
    await view('wave/w-dash', 'wave');
    const detail = await api('/api/waves/w-dash', WaveDetailSchema);
    const attempts = detail.report.items.reduce((n, i) => n + i.history.length, 0);
    expect(attempts).toBe(4);
    expect(await page.locator('svg.gantt rect').count()).toBe(attempts);
    expect(await page.locator('#wave-items tbody tr').count()).toBe(2);
    expect(await page.locator('#wave-items').textContent()).toContain('APPROVED');
    expect(detail.summary.tokens_input).toBe(300);
  });

  it('nights: the morning report with what was dispatched, skipped and why; the next says how its jobs ended', async () => {
    const list = await api('/api/nights', NightsResponseSchema);
    expect(list.nights).toHaveLength(2);
    await view('nights', 'nights');
    // newest first: the first night is the second row
    const [next, first] = list.nights.map((n) => n.run_id);
    expect(await page.locator(`#nights-table tr[data-night="${first}"]`).textContent()).toContain('rehearsal');
    await view(`night/${first}`, 'night');
    const items = await page
      .locator('#night-items tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-item')));
    expect(items.sort()).toEqual(['bd-n1', 'bd-n2']);
    expect(await page.locator('main').textContent()).toContain('provider chosen');
    const chosen = list.nights[1].provider!;
    expect(await page.locator(`tr[data-provider="${chosen}"] td:nth-child(2)`).textContent()).toBe('yes');
    expect(await page.locator('#night-finished').count()).toBe(0);
    await view(`night/${next}`, 'night');
    const ended = await page
      .locator('#night-finished tbody tr')
      .evaluateAll((rows) =>
        rows.map((r) => [r.getAttribute('data-item'), r.querySelector('td:nth-child(3)')?.textContent]),
      );
    expect(ended).toHaveLength(1);
    expect(ended[0][1]).toMatch(/^exited_/);
  });

  it('providers and hosts: per-provider results with a chart each; local with its live jobs', async () => {
    const providers = await api('/api/providers', ProvidersResponseSchema);
    const fake = providers.providers.find((p) => p.provider === 'fake')!;
    expect(fake.last_24h.success).toBeGreaterThanOrEqual(5); // 4 wave attempts + bd-xss
    await view('providers', 'providers');
    expect(await page.locator('.chart[data-provider="fake"] svg rect').count()).toBeGreaterThan(0);
    const hosts = await api('/api/hosts', HostsResponseSchema);
    expect(hosts.hosts[0].host).toBe('local');
    expect(hosts.hosts[0].live_jobs.map((j) => j.beads)).toContain('bd-run');
    await view('hosts', 'hosts');
    expect(await page.locator('#hosts-table tr[data-host="local"]').textContent()).toContain('bd-run');
    // this machine's own clock: no offset
    expect(await page.locator('#hosts-table tr[data-host="local"] td.clock').textContent()).toBe('+0s');
  });

  it('a job that ends while the page is open changes its row without a reload', async () => {
    await view('jobs', 'jobs-before-stop');
    await page.evaluate(() => ((window as { __sameDocument?: boolean }).__sameDocument = true));
    const stop = await sb.dx(['stop', '--beads', 'bd-run']);
    expect(stop.code, stop.stderr).toBe(0);
    await page.waitForFunction(
      () =>
        !/launching|healthy/.test(
          document.querySelector('#jobs-table tr[data-beads="bd-run"] td.state')?.textContent ?? '',
        ),
      undefined,
      { timeout: 15_000 },
    );
    expect(await rowState('bd-run')).toMatch(/exited_err|exited_ok|blocked/);
    expect(await page.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    await page.screenshot({ path: path.join(SCREENSHOTS, 'jobs-after-stop.png'), fullPage: true });
  });

  it('answers with a strict CSP, only to its own host names, and never to a write', async () => {
    const res = await fetch(dash.url);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    const rebound = await new Promise<number>((resolve, reject) => {
      // fetch forbids setting Host; a raw request shows what a DNS-rebinding page would send
      import('node:http').then(({ request }) => {
        const req = request(
          { host: '127.0.0.1', port: dash.port, path: '/api/jobs', headers: { host: `evil.example:${dash.port}` } },
          (r) => {
            r.resume();
            resolve(r.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      }, reject);
    });
    expect(rebound).toBe(421);
    expect((await fetch(new URL('/api/jobs', dash.url), { method: 'POST' })).status).toBe(405);
    // ids name files: nothing outside the roots is ever read
    for (const bad of [
      '/api/jobs/..%2F..%2Fpasswd',
      '/api/jobs/%E0%A4%A',
      '/api/waves/.wave',
      '/api/jobs/bd-xss?provider=..%2F..',
    ])
      expect((await fetch(new URL(bad, dash.url))).status, bad).toBe(400);
    expect((await fetch(new URL('/api/jobs/bd-nope', dash.url))).status).toBe(404);
    expect(dash.stdout.join('\n')).not.toMatch(/token=/);
    const listening = DashboardListeningSchema.parse(JSON.parse(dash.stdout[0]));
    expect(listening).toMatchObject({ url: dash.url, bind: '127.0.0.1', token_required: false, state_dir: sb.state });
  });

  it('a port already taken is one clear line and exit 1', async () => {
    const taken = await sb.dx(['dashboard', '--port', String(dash.port)]);
    expect(taken.code).toBe(1);
    expect(taken.stderr.trim().split('\n')).toHaveLength(1);
    expect(taken.stderr).toContain(`port ${dash.port} is in use`);
  });

  it('off loopback: refused without --token; with it, every request needs the printed token', async () => {
    const refused = await sb.dx(['dashboard', '--bind', '0.0.0.0']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('--token');

    const guarded = await startDashboardProcess(['--bind', '0.0.0.0', '--token'], sb.env);
    try {
      await waitFor(() => guarded.stderr.join('').includes('token='), 'the token printed');
      const visit = /open: (\S+)/.exec(guarded.stderr.join(''))![1];
      const token = new URL(visit).searchParams.get('token')!;
      expect(guarded.stdout.join('\n')).not.toContain(token);
      const local = `http://127.0.0.1:${guarded.port}`;
      expect((await fetch(`${local}/api/jobs`)).status).toBe(401);
      expect((await fetch(`${local}/`)).status).toBe(401);
      expect((await fetch(`${local}/api/jobs`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await fetch(`${local}/api/jobs`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);

      const p = await browser.newPage();
      await p.goto(`${local}/?token=${token}`);
      await p.waitForSelector('#jobs-table tbody tr', { timeout: 15_000 });
      expect(new URL(p.url()).searchParams.get('token')).toBeNull();
      expect(await p.locator('#jobs-table tbody tr').count()).toBeGreaterThan(0);
      await p.close();
    } finally {
      await guarded.stop();
    }
  });
});
