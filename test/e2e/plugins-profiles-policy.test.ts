import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CheckOutputSchema,
  ErrorOutputSchema,
  MetaSchema,
  parseKv,
  PreflightChainOutputSchema,
  PreflightOutputSchema,
  ProfilesOutputSchema,
  StartOutputSchema,
} from '@dx/core';
import { REPO_ROOT } from '../helpers/paths.js';
import { createSandbox, waitFor, type Sandbox } from '../helpers/sandbox.js';

let sb: Sandbox;
beforeEach(() => {
  sb = createSandbox();
});
afterEach(async () => {
  await sb.cleanup();
});

describe('provider plugins as products', () => {
  it('installs a provider packed from outside the workspace offline; it shows up in preflight, probe and start', async () => {
    // a copy outside the repository, packed with npm like a third party would ship it
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-extra-src-'));
    try {
      fs.cpSync(path.join(REPO_ROOT, 'test', 'fixtures', 'provider-extra'), outside, { recursive: true });
      const tgzName = execFileSync('npm', ['pack', '--silent', '--pack-destination', sb.dir], {
        cwd: outside,
        encoding: 'utf8',
      })
        .trim()
        .split('\n')
        .at(-1)!;
      const tgz = path.join(sb.dir, tgzName);
      const dataDir = path.join(sb.dir, 'plugins');
      const env = {
        DX_RUNNER_DATA_DIR: dataDir,
        npm_config_offline: 'true',
        npm_config_cache: path.join(sb.dir, 'npm-cache'),
      };
      const install = await sb.dx(['plugins', 'install', `file:${tgz}`], { env, timeoutMs: 120_000 });
      expect(install.code, install.stderr).toBe(0);
      expect((await sb.dx(['plugins'], { env })).stdout).toContain('dx-provider-extra 2.0.0');

      const pre = await sb.dxJson(['preflight', '--provider', 'extra'], PreflightOutputSchema, { env });
      expect(pre.code).toBe(0);
      expect(pre.json).toMatchObject({ provider: 'extra', ok: true, binary: { version: process.version } });
      const probe = await sb.dxJson(['probe', '--provider', 'extra'], PreflightOutputSchema, { env });
      expect(probe.json).toMatchObject({
        ok: true,
        checks: [expect.objectContaining({ name: 'probe', status: 'ok' })],
      });

      const wt = sb.worktree('bd-extra');
      const started = await sb.dxJson(
        [
          'start',
          '--beads',
          'bd-extra',
          '--provider',
          'extra',
          '--prompt-file',
          sb.prompt(`write ${path.join(wt, 'extra.txt')}`),
          '--worktree',
          wt,
        ],
        StartOutputSchema,
        { env },
      );
      expect(started.code, started.stderr).toBe(0);
      const done = await waitFor(async () => {
        const c = await sb.dxJson(['check', '--beads', 'bd-extra'], CheckOutputSchema, { env });
        return c.json.outcome_state ? c : undefined;
      }, 'extra job');
      expect(done.json).toMatchObject({ provider: 'extra', state: 'exited_ok', mutations: 1 });
      // the bundled providers are still there
      const bundled = await sb.dxJson(['preflight', '--provider', 'nosuch'], PreflightOutputSchema, { env });
      expect(bundled.code).toBe(20);
      expect(bundled.json.error).toMatch(/available: .*cc-glm.*extra.*gemini.*opencode/);
      expect((await sb.dx(['plugins', 'uninstall', 'dx-provider-extra'], { env })).code).toBe(0);
      expect((await sb.dx(['preflight', '--provider', 'extra'], { env })).code).toBe(20);
    } finally {
      fs.rmSync(outside, { recursive: true, force: true });
    }
  }, 180_000);

  it('reports a plugin whose hook throws and keeps working with the others', async () => {
    const dataDir = path.join(sb.dir, 'plugins');
    const env = { DX_RUNNER_DATA_DIR: dataDir };
    for (const dir of ['provider-fake', 'provider-broken']) {
      const link = await sb.dx(['plugins', 'link', path.join(REPO_ROOT, 'test', 'fixtures', dir), '--no-install'], {
        env,
      });
      expect(link.code, link.stderr).toBe(0);
    }
    const r = await sb.dx(
      ['start', '--beads', 'bd-1', '--provider', 'fake', '--worktree', sb.worktree('bd-1'), '--dry-run'],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'provider plugin @dx-test/provider-broken skipped: broken provider exploded while registering',
    );
    expect(r.stdout).toContain('dry-run ok beads=bd-1 provider=fake');
  });
});

describe('provider manifests', () => {
  it('skips a plugin built for another core API and says why', async () => {
    const env = { DX_RUNNER_DATA_DIR: path.join(sb.dir, 'plugins-future') };
    for (const dir of ['provider-fake', 'provider-future']) {
      const link = await sb.dx(['plugins', 'link', path.join(REPO_ROOT, 'test', 'fixtures', dir), '--no-install'], {
        env,
      });
      expect(link.code, link.stderr).toBe(0);
    }
    const r = await sb.dx(['preflight', '--provider', 'future'], { env });
    expect(r.code).toBe(20);
    expect(r.stderr).toContain(
      'provider plugin @dx-test/provider-future skipped: built for dx-runner core API 2, this dx-runner speaks 1',
    );
    const fake = await sb.dx(
      ['start', '--beads', 'bd-1', '--provider', 'fake', '--worktree', sb.worktree('bd-1'), '--dry-run'],
      { env },
    );
    expect(fake.code, fake.stderr).toBe(0);
  });
});

describe('provider preflight answers are checked', () => {
  it('fails a check whose status breaks the contract instead of passing it on', async () => {
    const r = await sb.dxJson(['preflight', '--provider', 'fake'], PreflightOutputSchema, {
      env: { FAKE_PREFLIGHT_BAD_STATUS: '1' },
    });
    expect(r.code).toBe(21);
    expect(r.json).toMatchObject({ ok: false, checks: [{ name: 'auth', status: 'fail' }] });
    expect(r.json.error).toMatch(/answered status "pass" \(expected ok\|warn\|fail\|skip\)/);
  });

  it('names what would break a fallback not needed today: a provider not installed, an entry named twice', async () => {
    const policy = path.join(sb.dir, 'policy.yaml');
    fs.writeFileSync(policy, 'fallback_chain: [fake, gemnii, fake-alt, fake-alt]\n');
    const r = await sb.dxJson(['preflight', '--policy', policy], PreflightChainOutputSchema);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({ ok: true, selected_provider: 'fake' });
    expect(r.json.results.map((x) => x.provider)).toEqual(['fake']);
    expect(r.json.warnings).toEqual([
      expect.stringMatching(
        /^gemnii is not an installed provider \(available: .*fake-alt.*\): a fallback to it would fail$/,
      ),
      'fake-alt is named more than once in the chain',
    ]);
    const human = await sb.dx(['preflight', '--policy', policy]);
    expect(human.stdout).toContain('\nwarning: gemnii is not an installed provider');
  });
});

describe('profiles', () => {
  it('lists the shipped profiles and lets a user profile override one by name', async () => {
    const shipped = await sb.dxJson(['profiles'], ProfilesOutputSchema);
    expect(shipped.json.profiles.map((p) => p.name)).toEqual(
      expect.arrayContaining(['opencode-prod', 'cc-glm-fallback', 'cc-glm-review', 'gemini-research']),
    );
    const dir = path.join(sb.env.XDG_CONFIG_HOME, 'dx-runner', 'profiles');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'cc-glm-fallback.yaml'),
      'provider: fake\nmodel: fake-model-9\nlimits:\n  stall_minutes: 3\n  max_runtime_minutes: 7\n',
    );
    const show = await sb.dxJson(['profiles', '--show', 'cc-glm-fallback'], ProfilesOutputSchema);
    expect(show.json.profiles).toEqual([
      expect.objectContaining({
        name: 'cc-glm-fallback',
        provider: 'fake',
        model: 'fake-model-9',
        source: path.join(dir, 'cc-glm-fallback.yaml'),
      }),
    ]);
    expect((await sb.dx(['profiles', '--show', 'cc-glm-fallback'])).stdout).toContain('stall_minutes: 3');
  });

  it('start --profile takes provider, model and limits from the profile; flags still win', async () => {
    const dir = path.join(sb.env.XDG_CONFIG_HOME, 'dx-runner', 'profiles');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'quick.yaml'),
      'description: test\nprovider: fake\nmodel: fake-model-7\nlimits:\n  stall_minutes: 3\n  max_runtime_minutes: 7\n',
    );
    const wt = sb.worktree('bd-prof');
    const r = await sb.dxJson(
      [
        'start',
        '--beads',
        'bd-prof',
        '--profile',
        'quick',
        '--prompt-file',
        sb.prompt({ steps: [{ message: 'x' }, { hang: true }] }),
        '--worktree',
        wt,
      ],
      StartOutputSchema,
    );
    expect(r.json).toMatchObject({ provider: 'fake', selected_model: 'fake-model-7' });
    const meta = MetaSchema.parse(parseKv(fs.readFileSync(path.join(sb.state, 'fake', 'bd-prof.meta'), 'utf8')));
    expect(meta).toMatchObject({ profile: 'quick', stall_minutes: 3, max_runtime_minutes: 7, model: 'fake-model-7' });
    const flagWins = await sb.dxJson(
      [
        'start',
        '--beads',
        'bd-prof2',
        '--profile',
        'quick',
        '--model',
        'fake-model-1',
        '--provider',
        'fake-alt',
        '--worktree',
        sb.worktree('bd-prof2'),
        '--dry-run',
      ],
      StartOutputSchema,
    );
    expect(flagWins.json).toMatchObject({ provider: 'fake-alt', selected_model: 'fake-model-1' });
  });

  it('refuses an unknown profile (exit 1) and names file, line and column of a malformed one', async () => {
    const unknown = await sb.dx([
      'start',
      '--beads',
      'bd-1',
      '--profile',
      'nope',
      '--worktree',
      sb.worktree('bd-1'),
      '--dry-run',
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('profile "nope" not found (available: cc-glm-fallback');
    const dir = path.join(sb.env.XDG_CONFIG_HOME, 'dx-runner', 'profiles');
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'bad.yaml');
    fs.writeFileSync(file, 'provider: fake\nlimits:\n  stall_minutes: soon\n');
    const bad = await sb.dx([
      'start',
      '--beads',
      'bd-1',
      '--profile',
      'bad',
      '--worktree',
      path.join(sb.agents, 'bd-1', 'repo'),
      '--dry-run',
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`invalid profile ${file}:3:18: limits.stall_minutes`);
  });
});

describe('model policy: env overrides work inside the allowlist and are refused outside it', () => {
  const dry = (extra: string[], env: Record<string, string> = {}) =>
    sb.dx(
      [
        'start',
        '--beads',
        'bd-m',
        '--provider',
        'opencode',
        '--worktree',
        sb.worktree(`bd-m-${Math.random().toString(36).slice(2)}`),
        '--dry-run',
        '--json',
        ...extra,
      ],
      { env },
    );

  it('runs the canonical model by default and an allowed OPENCODE_MODEL when set', async () => {
    expect(StartOutputSchema.parse(JSON.parse((await dry([])).stdout)).selected_model).toBe(
      'zhipuai-coding-plan/glm-5',
    );
    expect(
      StartOutputSchema.parse(JSON.parse((await dry([], { OPENCODE_MODEL: 'zhipuai/glm-5' })).stdout)).selected_model,
    ).toBe('zhipuai/glm-5');
  });

  it.each([
    [[], { OPENCODE_MODEL: 'zai-coding-plan/glm-4.7' }, 'OPENCODE_MODEL=zai-coding-plan/glm-4.7 is not allowed'],
    [['--model', 'openai/gpt-5'], {}, 'model openai/gpt-5 is not allowed'],
    [
      [],
      { OPENCODE_ALLOWED_MODELS: 'zhipuai/glm-5,anthropic/claude' },
      'OPENCODE_ALLOWED_MODELS lists anthropic/claude, outside the policy allowlist',
    ],
    [
      [],
      { OPENCODE_CANONICAL_MODEL: 'opencode/big-pickle' },
      'OPENCODE_CANONICAL_MODEL=opencode/big-pickle is not on the opencode allowlist',
    ],
  ] as Array<[string[], Record<string, string>, string]>)('refuses %j %j with exit 25', async (flags, env, message) => {
    const r = await dry(flags, env);
    expect(r.code).toBe(25);
    const err = ErrorOutputSchema.parse(JSON.parse(r.stdout)).error;
    expect(err.reason_code).toBe('opencode_model_unsupported');
    expect(err.message).toContain(message);
  });

  it('lets OPENCODE_ALLOWED_MODELS narrow the allowlist', async () => {
    const r = await dry([], { OPENCODE_ALLOWED_MODELS: 'zhipuai/glm-5' });
    expect(r.code).toBe(25);
    expect(JSON.parse(r.stdout).error.message).toContain('zhipuai-coding-plan/glm-5 is not allowed');
  });
});
