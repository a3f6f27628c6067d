import { describe, expect, it } from 'vitest';
import { jobPaths } from '../../state/layout.js';
import { parseWatcherSpec, type WatcherSpec } from './spec.js';

function spec(): WatcherSpec {
  const paths = jobPaths('/state/jobs', 'fake', 'bd-1');
  return {
    paths,
    beads: 'bd-1',
    provider: 'fake',
    runInstance: 'bd-1-1',
    runId: 'r1',
    runtimeModule: '/plugins/fake/runtime.js',
    launch: {
      command: 'node',
      args: ['agent.mjs'],
      env: { PATH: '/usr/bin' },
      cwd: '/tmp/agents/bd-1',
      stdinFile: paths.prompt,
    },
    worktree: '/tmp/agents/bd-1',
    limits: {
      logCapBytes: 1,
      outputCapBytes: 1,
      maxRuntimeMs: 1,
      finalExitGraceMs: 0,
      killGraceMs: 1,
      mutationPollMs: 1,
      heartbeatIntervalMs: 1,
      freezeGapMs: 30_000,
    },
    outcomeBase: {
      retries: 0,
      selectedModel: '',
      fallbackReason: '',
      host: 'h',
      cwd: '/',
      providerSwitchFrom: [],
      startedAt: 'now',
    },
    keepHome: false,
    logLevel: 'info',
    expectNoChanges: false,
  };
}

describe('the watcher spec crossing the process boundary', () => {
  it('accepts what start builds', () => {
    const parsed = parseWatcherSpec(JSON.stringify(spec()));
    expect(parsed).toMatchObject({ ok: true, spec: { beads: 'bd-1' } });
  });

  it('refuses job paths that are not the layout of (root, provider, beads)', () => {
    const s = spec();
    const tampered = { ...s, paths: { ...s.paths, outcome: '/etc/cron.d/job' } };
    expect(parseWatcherSpec(JSON.stringify(tampered))).toEqual({
      ok: false,
      message: 'watcher spec invalid at paths.outcome: must be /state/jobs/fake/bd-1.outcome',
    });
  });

  it('refuses a spec with a missing or mistyped field, and text that is not JSON', () => {
    const { limits: _limits, ...noLimits } = spec();
    expect(parseWatcherSpec(JSON.stringify(noLimits))).toMatchObject({
      ok: false,
      message: expect.stringContaining('limits'),
    });
    expect(parseWatcherSpec(JSON.stringify({ ...spec(), keepHome: 'yes' }))).toMatchObject({
      ok: false,
      message: expect.stringContaining('keepHome'),
    });
    expect(parseWatcherSpec('{"paths":')).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^watcher spec is not JSON/),
    });
  });
});
