import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CheckOutputSchema, ErrorOutputSchema, JobReportSchema, PreflightOutputSchema } from '@dx/core';
import { DemoOutputSchema as BatchDemoOutputSchema } from '@dx/dx-batch';
import { DemoOutputSchema, SimScenariosOutputSchema } from '@dx/provider-sim/schemas';
import { createSandbox, git, type Sandbox } from '../helpers/sandbox.js';

/**
 * The shipped simulator through the real engine: every shipped scenario, started with
 * `dx-runner start --provider sim --scenario <name>`, ends in the state, reason code and failure
 * class it documents — the same classification the real CLIs' failures get.
 */
const boxes: Sandbox[] = [];
afterEach(async () => {
  for (const box of boxes.splice(0)) await box.cleanup();
});

function sandbox(): Sandbox {
  const box = createSandbox({
    DX_RUNNER_STALL_MINUTES: '0.03',
    DX_RUNNER_STARTUP_GRACE_SEC: '1',
    DX_RUNNER_FINAL_EXIT_GRACE_SEC: '1',
    // the scenarios that stay alive (stall, loop) run side by side with the others
    DX_RUNNER_MAX_PARALLEL_SIM: '4',
  });
  boxes.push(box);
  return box;
}

describe('provider sim', () => {
  it('lists its shipped scenarios, each with what a user should see', async () => {
    const box = sandbox();
    const r = await box.dxJson(['sim', 'scenarios', '--json'], SimScenariosOutputSchema);
    expect(r.code).toBe(0);
    const names = r.json.scenarios.map((s) => s.name);
    for (const name of ['success', 'no-change', 'rate-limited', 'quota-exhausted', 'capacity-exhausted'])
      expect(names).toContain(name);
    for (const name of [
      'auth-missing',
      'auth-invalid',
      'model-unavailable',
      'network-error',
      'server-error',
      'context-exceeded',
    ])
      expect(names).toContain(name);
    for (const name of ['stall', 'hang-after-result', 'crash']) expect(names).toContain(name);
    const human = await box.dx(['sim', 'scenarios']);
    expect(human.stdout).toMatch(/rate-limited\s+opencode\s+exited_err opencode_rate_limited/);
  });

  it('every shipped scenario ends as it documents', async () => {
    const box = sandbox();
    const { json } = await box.dxJson(['sim', 'scenarios', '--json'], SimScenariosOutputSchema);
    for (const s of json.scenarios) {
      const beads = `bd-sim-${s.name}`;
      const started = await box.dx([
        'start',
        '--beads',
        beads,
        '--provider',
        'sim',
        '--scenario',
        s.name,
        '--worktree',
        box.worktree(beads),
      ]);
      expect(started.code, `${s.name}: ${started.stderr}`).toBe(0);
    }
    for (const s of json.scenarios) {
      const beads = `bd-sim-${s.name}`;
      let view = (await box.dxJson(['check', beads, '--json'], CheckOutputSchema)).json;
      for (let n = 0; n < 100 && view.state !== s.expect.state; n++) {
        await new Promise((r) => setTimeout(r, 200));
        view = (await box.dxJson(['check', beads, '--json'], CheckOutputSchema)).json;
      }
      expect(view.state, s.name).toBe(s.expect.state);
      if (s.expect.reason_code) expect(view.reason_code, s.name).toBe(s.expect.reason_code);
      if (s.expect.failure_class) {
        const report = (await box.dxJson(['report', beads, '--json'], JobReportSchema)).json;
        expect(report.failure_class, s.name).toBe(s.expect.failure_class);
      }
      // labelled as a simulation wherever the job is shown
      expect(view.selected_model, s.name).toBe(`sim:${s.name}`);
    }
    // the quota reset time Z.ai printed reaches the operator
    const quota = (await box.dxJson(['report', 'bd-sim-quota-exhausted', '--json'], JobReportSchema)).json;
    expect(quota.summary).toMatch(/reset at 2026-11-24 12:00:00/);
    await box.dx(['stop', 'bd-sim-stall']);
    await box.dx(['stop', 'bd-sim-loop']);
  }, 120_000);

  it('the success scenario really commits in the worktree and reports its usage', async () => {
    const box = sandbox();
    const wt = box.worktree('bd-sim-ok');
    expect((await box.dx(['start', '--beads', 'bd-sim-ok', '--provider', 'sim', '--worktree', wt])).code).toBe(0);
    expect((await box.dx(['wait', 'bd-sim-ok', '--timeout', '30'])).code).toBe(0);
    expect(git(wt, 'log', '--format=%s', '-1')).toBe('bd-sim-ok: simulated change');
    expect(fs.existsSync(path.join(wt, 'SIMULATED-bd-sim-ok.md'))).toBe(true);
    const report = (await box.dxJson(['report', 'bd-sim-ok', '--json'], JobReportSchema)).json;
    expect(report.usage.tokens_input).toBeGreaterThan(0);
    expect(report.final_text).toContain('CONTRACT:JSON:');
  });

  it('the simulated agent never writes outside its worktree, whatever a prompt header expands to', async () => {
    const box = sandbox();
    const scenarios = path.join(box.dir, 'scenarios');
    fs.mkdirSync(scenarios);
    fs.writeFileSync(
      path.join(scenarios, 'default.yaml'),
      'description: writes a file named after the item\nexpect:\n  state: exited_ok\nsteps:\n  - write: ${item}.md\n  - result: done\n',
    );
    const prompt = path.join(box.dir, 'escape.prompt');
    fs.writeFileSync(prompt, 'DX-BATCH-ITEM: ../../escaped\nDo the thing.\n');
    const wt = box.worktree('bd-sim-escape');
    const started = await box.dx(
      ['start', '--beads', 'bd-sim-escape', '--provider', 'sim', '--prompt-file', prompt, '--worktree', wt],
      { env: { DX_SIM_SCENARIOS: scenarios } },
    );
    expect(started.code, started.stderr).toBe(0);
    await box.dx(['wait', 'bd-sim-escape', '--timeout', '30']);
    const view = (await box.dxJson(['check', 'bd-sim-escape', '--json'], CheckOutputSchema)).json;
    expect(view.state).toBe('exited_err');
    expect(fs.existsSync(path.resolve(wt, '../../escaped.md'))).toBe(false);
    expect((await box.dx(['logs', 'bd-sim-escape'])).stdout).toContain('refusing to write outside the worktree');
  });

  it('says it is a simulator in preflight', async () => {
    const box = sandbox();
    const r = await box.dxJson(['preflight', '--provider', 'sim', '--json'], PreflightOutputSchema);
    expect(r.json.ok).toBe(true);
    expect(r.json.checks.find((c) => c.name === 'simulator')).toMatchObject({ status: 'warn' });
  });

  it('refuses --scenario for a real provider, an unknown scenario and a broken file, each in one line', async () => {
    const box = sandbox();
    const wt = box.worktree('bd-sim-bad');
    const real = await box.dx([
      'start',
      '--beads',
      'bd-sim-bad',
      '--provider',
      'opencode',
      '--scenario',
      'success',
      '--worktree',
      wt,
      '--json',
    ]);
    expect(real.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(real.stdout)).error.reason_code).toBe('scenario_needs_simulator');

    const unknown = await box.dx([
      'start',
      '--beads',
      'bd-sim-bad',
      '--provider',
      'sim',
      '--scenario',
      'nope',
      '--worktree',
      wt,
      '--json',
    ]);
    expect(unknown.code).toBe(1);
    const e = ErrorOutputSchema.parse(JSON.parse(unknown.stdout)).error;
    expect(e.reason_code).toBe('sim_scenario_invalid');
    expect(e.message).toMatch(/unknown scenario "nope" \(shipped: .*rate-limited/);

    const file = path.join(box.dir, 'broken.yaml');
    fs.writeFileSync(file, 'description: broken\nexpect:\n  state: exited_ok\nsteps:\n  - mesage: hi\n');
    const broken = await box.dx(['sim', 'scenarios', '--file', file]);
    expect(broken.code).toBe(1);
    expect(broken.stderr.trim().split('\n')).toHaveLength(1);
    expect(broken.stderr).toContain(`${file}:5:5: steps[0]: not a step`);
    // nothing was started by the refusals
    expect((await box.dx(['check', 'bd-sim-bad'])).code).toBe(1);
  });

  it('dx-runner demo: a live simulated job in a throw-away repository, the commands to inspect it, --clean', async () => {
    const box = sandbox();
    const demo = await box.dx(['demo', '--base', box.agents]);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/started bd-demo \(scenario success\)/);
    expect(demo.stdout).toMatch(/exited_ok\s+events=\d+\s+tools=\d+\s+mutations=1/);
    for (const command of ['dx-runner check bd-demo', 'dx-runner report bd-demo', 'dx-runner logs bd-demo'])
      expect(demo.stdout).toContain(command);
    const repo = path.join(box.agents, 'bd-demo', 'repo');
    expect(git(repo, 'log', '--format=%s')).toContain('bd-demo: simulated change');
    expect((await box.dx(['check', 'bd-demo'])).code).toBe(0);

    // again, with a failure scenario: the previous demo is replaced, the job ends as the scenario says
    const again = await box.dxJson(
      ['demo', '--base', box.agents, '--scenario', 'rate-limited', '--json'],
      DemoOutputSchema,
    );
    expect(again.code).toBe(0);
    expect(again.json).toMatchObject({ state: 'exited_err', reason_code: 'opencode_rate_limited', cleaned: false });

    const clean = await box.dxJson(['demo', '--base', box.agents, '--clean', '--json'], DemoOutputSchema);
    expect(clean.json.cleaned).toBe(true);
    expect(fs.existsSync(path.join(box.agents, 'bd-demo'))).toBe(false);
    expect((await box.dx(['check', 'bd-demo'])).code).toBe(1);
  }, 120_000);

  it("the demos refuse a base outside the policy's worktree prefixes and create nothing there", async () => {
    const box = sandbox();
    const outside = path.join(box.dir, 'elsewhere', 'deeper');
    const demo = await box.dx(['demo', '--base', outside, '--json']);
    expect(demo.code).toBe(22);
    expect(ErrorOutputSchema.parse(JSON.parse(demo.stdout)).error.reason_code).toBe(
      'worktree_outside_allowed_prefixes',
    );
    const wave = await box.batch(['demo', '--base', outside]);
    expect(wave.code).toBe(22);
    expect(fs.existsSync(path.join(box.dir, 'elsewhere'))).toBe(false);
    const unknown = await box.dx(['demo', '--base', box.agents, '--scenario', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/unknown scenario "nope" .*\(reason_code=sim_scenario_invalid\)/);
  });

  it('the demos make a base under a worktree prefix that does not exist yet', async () => {
    const box = sandbox();
    const fresh = path.join(box.agents, 'demos', 'mine');
    const demo = await box.dx(['demo', '--base', fresh, '--json']);
    expect(demo.code, demo.stderr).toBe(0);
    expect(fs.existsSync(path.join(fresh, 'bd-demo', 'repo', '.git'))).toBe(true);
    expect((await box.dx(['demo', '--clean', '--base', fresh])).code).toBe(0);
  });

  it('dx-runner demo never removes a folder it did not make', async () => {
    const box = sandbox();
    const mine = path.join(box.agents, 'bd-demo');
    fs.mkdirSync(mine, { recursive: true });
    fs.writeFileSync(path.join(mine, 'precious.txt'), 'keep me');
    const r = await box.dx(['demo', '--base', box.agents, '--json']);
    expect(r.code).toBe(1);
    expect(ErrorOutputSchema.parse(JSON.parse(r.stdout)).error.reason_code).toBe('demo_dir_not_ours');
    expect(fs.readFileSync(path.join(mine, 'precious.txt'), 'utf8')).toBe('keep me');
  });

  it('dx-batch demo: a five-item simulated wave ends as designed (a revision, a fallback, a blocked item) with its report', async () => {
    const box = sandbox();
    const r = await box.batch(['demo', '--base', box.agents], { timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    // the live view (lines: stderr is not a terminal) shows the transitions as they happen
    expect(r.stderr).toMatch(/demo-2 REVIEWING → REVISION_REQUIRED/);
    expect(r.stderr).toMatch(/demo-3 IMPLEMENTING → IMPLEMENT_QUEUED \(opencode_rate_limited\)/);
    expect(r.stderr).toMatch(/demo-3 IMPLEMENT_QUEUED → IMPLEMENTING via sim-alt/);
    // then the wave report
    expect(r.stdout).toMatch(/\| demo-3 \| APPROVED \| approved \| APPROVED \| .* \| sim → sim-alt \|/);
    expect(r.stdout).toMatch(/\| demo-4 \| BLOCKED \| implement_reported_blocked \|/);
    expect(r.stdout).toMatch(/ended as designed/);
    const clean = await box.batch(['demo', '--base', box.agents, '--clean', '--json']);
    const out = BatchDemoOutputSchema.parse(JSON.parse(clean.stdout));
    expect(out.removed).toHaveLength(5);
    expect(fs.readdirSync(box.agents)).toEqual([]);
  }, 180_000);
});
