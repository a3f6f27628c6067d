/**
 * `nightly-dispatch run --simulate`: a whole night with simulated providers through the real
 * nightly-dispatch, the real dx-runner (its providers replaced by the simulator playing the set's
 * scenarios) and the bd stub, with real alerts to a webhook on 127.0.0.1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NightReportSchema } from '@dx/nightly-dispatch';
import { CheckOutputSchema } from '@dx/core';
import { BD_STUB_DIR, NIGHTLY_BIN } from '../helpers/paths.js';
import { createBeadsWorkspace } from '../helpers/beads.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';
import { startWebhook, type Hook } from '../helpers/webhook.js';

let sb: Sandbox;
let hook: Hook;

beforeAll(async () => {
  hook = await startWebhook();
});
afterAll(async () => {
  await hook.close();
});
beforeEach(() => {
  sb = createSandbox({ PATH: `${BD_STUB_DIR}:${process.env.PATH}` });
  const beads = createBeadsWorkspace(path.join(sb.dir, 'workspace'));
  for (const id of ['bd-n1', 'bd-n2']) {
    beads.create(id);
    sb.worktree(id);
  }
  Object.assign(sb.env, {
    BEADS_DIR: beads.beadsDir,
    NIGHTLY_DISPATCH_DIR: path.join(sb.dir, 'nightly'),
    SLACK_WEBHOOK_URL: hook.url,
  });
  hook.bodies.length = 0;
});
afterEach(async () => {
  await sb.cleanup();
});

async function night(args: string[]) {
  const r = await sb.bin(NIGHTLY_BIN, ['run', '--json', ...args], { timeoutMs: 120_000 });
  return { ...r, report: NightReportSchema.parse(JSON.parse(r.stdout)) };
}

const alertTexts = () => hook.bodies.map((b) => JSON.stringify(b));

describe('nightly-dispatch run --simulate', () => {
  it('OpenCode rate-limited, cc-glm fine: the fallback alert goes out marked [rehearsal], the items go to cc-glm', async () => {
    const r = await night(['--simulate', 'opencode-rate-limited']);
    expect(r.code, `${r.stderr}\n${JSON.stringify(r.report.items)}`).toBe(0);
    expect(r.report.simulation).toMatchObject({
      name: 'opencode-rate-limited',
      providers: { opencode: 'rate-limited' },
    });
    expect(r.report.provider).toMatchObject({ selected: 'cc-glm', fallback: true });
    expect(r.report.provider.primary_failure).toMatchObject({
      provider: 'opencode',
      reason_code: 'opencode_rate_limited',
    });
    // the first 48 h after the migration start allow one nightly job at a time
    const dispatched = r.report.items.filter((i) => i.action === 'dispatched');
    expect(dispatched.map((i) => i.beads_id)).toEqual(['bd-n1']);
    expect(dispatched[0].provider).toBe('cc-glm');
    // the real alerts reached the webhook, each saying it is a rehearsal
    const texts = alertTexts();
    expect(texts.some((t) => t.includes('[rehearsal]') && t.includes('fallback: opencode → cc-glm'))).toBe(true);
    expect(texts.every((t) => t.includes('[rehearsal]'))).toBe(true);
    // the morning report says so too
    const md = fs.readFileSync(r.report.report_files.markdown, 'utf8');
    expect(md).toMatch(/\*\*Rehearsal\*\* with the simulator \(opencode-rate-limited/);
    // the dispatched jobs ran on the simulator standing in for cc-glm
    await sb.dx(['wait', 'bd-n1', '--timeout', '30']);
    const view = (await sb.dxJson(['check', 'bd-n1', '--json'], CheckOutputSchema)).json;
    expect(view).toMatchObject({ provider: 'cc-glm', selected_model: 'sim:success', state: 'exited_ok' });
  });

  it('every provider down: the no-provider alert and exit 21, nothing claimed', async () => {
    const r = await night(['--simulate', 'all-providers-down']);
    expect(r.code).toBe(21);
    expect(r.report.status).toBe('no_provider');
    expect(r.report.counts.claimed).toBe(0);
    expect(alertTexts().some((t) => t.includes('[rehearsal]') && t.includes('no provider available'))).toBe(true);
  });

  it('an unknown set is refused in one line before anything runs', async () => {
    const r = await sb.bin(NIGHTLY_BIN, ['run', '--simulate', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(
      /unknown simulation "nope" \(shipped: all-fine, all-providers-down, opencode-rate-limited\)/,
    );
    expect(hook.bodies).toHaveLength(0);
  });
});
