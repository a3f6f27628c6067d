import { describe, expect, it } from 'vitest';
import { buildPlan } from './plan.js';
import { parseScenario, shippedScenarios } from './scenario.js';

describe('scenario files', () => {
  it('ship valid, each with its expected end and, for replays, a recording that exists', () => {
    const all = shippedScenarios();
    expect(all.length).toBeGreaterThanOrEqual(13);
    for (const s of all) expect(() => buildPlan(s, 'bd-1'), s.name).not.toThrow();
  });

  it('name the line and column of a YAML error', () => {
    expect(() => parseScenario('description: x\nsteps: [a\n', 'f.yaml')).toThrow(/^f\.yaml:\d+:\d+: /);
  });

  it('name the line and column of a step that is not a step', () => {
    const text = 'description: x\nexpect:\n  state: exited_ok\nsteps:\n  - message: hi\n  - exit: 300\n';
    expect(() => parseScenario(text, 'f.yaml')).toThrow(/^f\.yaml:6:11: steps\.1\.exit: Too big/);
  });

  it('refuses a replay without saying whose recording', () => {
    const text = 'description: x\nexpect:\n  state: exited_err\nsteps:\n  - replay: zai1302\n';
    expect(() => parseScenario(text, 'f.yaml')).toThrow(/f\.yaml:5:\d+: steps\.0\.replay: replay needs `as:`/);
  });

  it('a plan locates the recording of the imitated CLI', () => {
    const s = parseScenario(
      'description: x\nas: cc-glm\nexpect:\n  state: exited_err\nsteps:\n  - replay: zai1308\n',
      '/x/quota.yaml',
    );
    const plan = buildPlan(s, 'bd-9');
    expect(plan).toMatchObject({ scenario: 'quota', beads: 'bd-9' });
    expect(plan.steps[0]).toMatchObject({
      replay: { rc: expect.stringMatching(/provider-cc-glm\/fixtures\/zai1308\.rc$/) },
    });
  });
});
