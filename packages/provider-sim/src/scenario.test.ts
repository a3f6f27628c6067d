import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readYamlFile } from '@dx/core';
import { buildPlan } from './plan.js';
import { loadScenario, readScenario, shippedScenarios } from './scenario.js';

// made when the file's tests run, so a filtered run that skips them (and its clean-up) leaves nothing
let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-sim-scenario-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}
const read = (f: string) => () => readScenario(f, readYamlFile);

describe('scenario files', () => {
  it('ship valid, each with its expected end and, for replays, a recording that exists', () => {
    const all = shippedScenarios(readYamlFile);
    expect(all.length).toBeGreaterThanOrEqual(13);
    for (const s of all) expect(() => buildPlan(s, 'bd-1'), s.name).not.toThrow();
  });

  it('name the line and column of a YAML error', () => {
    const f = file('syntax.yaml', 'description: x\nsteps: [a\n');
    expect(read(f)).toThrow(new RegExp(`^invalid scenario ${f}:\\d+:\\d+: `));
  });

  it('name the line and column of a step that is not a step, and of a bad value', () => {
    const unknown = file('unknown.yaml', 'description: x\nexpect:\n  state: exited_ok\nsteps:\n  - mesage: hi\n');
    expect(read(unknown)).toThrow(`${unknown}:5:5: steps[0]: not a step; a step is one of: message, tool,`);
    const big = file(
      'big.yaml',
      'description: x\nexpect:\n  state: exited_ok\nsteps:\n  - message: hi\n  - exit: 300\n',
    );
    expect(read(big)).toThrow(`${big}:6:11: steps[1].exit: Too big`);
  });

  it('refuses a replay without saying whose recording', () => {
    const f = file('replay.yaml', 'description: x\nexpect:\n  state: exited_err\nsteps:\n  - replay: zai1302\n');
    expect(read(f)).toThrow(`${f}:5:13: steps[0].replay: replay needs \`as:\``);
  });

  it('refuses a write outside the worktree', () => {
    for (const target of ['/etc/passwd', '../x', 'a/../../x']) {
      const f = file('escape.yaml', `description: x\nexpect:\n  state: exited_ok\nsteps:\n  - write: ${target}\n`);
      expect(read(f), target).toThrow('a path inside the worktree');
    }
  });

  it('an unknown name lists the shipped ones', () => {
    expect(() => loadScenario('nope', readYamlFile)).toThrow(/unknown scenario "nope" \(shipped: .*rate-limited/);
  });

  it('a plan locates the recording of the imitated CLI', () => {
    const f = file(
      'quota.yaml',
      'description: x\nas: cc-glm\nexpect:\n  state: exited_err\nsteps:\n  - replay: zai1308\n',
    );
    const plan = buildPlan(readScenario(f, readYamlFile), 'bd-9');
    expect(plan).toMatchObject({ scenario: 'quota', beads: 'bd-9', item: 'bd-9', attempt: 1 });
    expect(plan.steps[0]).toMatchObject({
      replay: { rc: expect.stringMatching(/provider-cc-glm\/fixtures\/zai1308\.rc$/) },
    });
  });
});
