import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CompletionOutputSchema } from '@dx/core';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';
import { CLI_BIN, REPO_ROOT } from '../helpers/paths.js';

/**
 * Shell completion as a user gets it: the script `dx-runner completion bash|zsh` prints, loaded by
 * the real shell, completes commands and flags and, after --beads, the beads ids of recorded jobs.
 */
const ZSH_CAPTURE = path.join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'zsh-complete.zsh');
const hasZsh = (() => {
  try {
    execFileSync('zsh', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const boxes: Sandbox[] = [];
afterEach(async () => {
  for (const box of boxes.splice(0)) await box.cleanup();
});

/** A sandbox with two finished jobs and `dx-runner` on PATH, as an installed CLI is. */
async function sandboxWithJobs(): Promise<{ box: Sandbox; env: Record<string, string> }> {
  const box = createSandbox({ DX_RUNNER_STARTUP_GRACE_SEC: '1', DX_RUNNER_FINAL_EXIT_GRACE_SEC: '1' });
  boxes.push(box);
  for (const beads of ['bd-cmpl.1', 'bd-cmpl.2']) {
    const args = ['start', '--beads', beads, '--provider', 'sim', '--scenario', 'success'];
    const started = await box.dx([...args, '--worktree', box.worktree(beads)]);
    expect(started.code, started.stderr).toBe(0);
    expect((await box.dx(['wait', '--beads', beads, '--timeout', '60'])).code).toBe(0);
  }
  const bin = path.join(box.dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'dx-runner'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_BIN}" "$@"\n`, {
    mode: 0o755,
  });
  return { box, env: { ...box.env, PATH: `${bin}:${box.env.PATH}` } };
}

describe('shell completion', () => {
  it('bash: commands, flags, and the recorded beads ids after --beads', async () => {
    const { box, env } = await sandboxWithJobs();
    const printed = await box.dxJson(['completion', 'bash'], CompletionOutputSchema);
    expect(printed.json.shell).toBe('bash');
    const script = path.join(box.dir, 'completion.bash');
    fs.writeFileSync(script, (await box.dx(['completion', 'bash'])).stdout);

    // what bash does on Tab: COMP_WORDS/COMP_CWORD set, the registered function called, COMPREPLY read
    const complete = (...words: string[]) =>
      execFileSync(
        'bash',
        [
          '-c',
          `. "$1"; shift
          fn=$(complete -p dx-runner | sed -E 's/.*-F ([^ ]+) .*/\\1/')
          COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
          "$fn"; printf '%s\\n' "\${COMPREPLY[@]}"`,
          'bash',
          script,
          ...words,
        ],
        { env, encoding: 'utf8', timeout: 30_000 },
      )
        .split('\n')
        .filter(Boolean)
        .sort();

    expect(complete('dx-runner', 'stop', '--beads', '')).toEqual(['bd-cmpl.1', 'bd-cmpl.2']);
    expect(complete('dx-runner', 'logs', '--beads', 'bd-cmpl.2')).toEqual(['bd-cmpl.2']);
    expect(complete('dx-runner', 'check', '--beads', '=', '')).toEqual(['bd-cmpl.1', 'bd-cmpl.2']);
    expect(complete('dx-runner', 'sta')).toEqual(['start', 'status']);
    expect(complete('dx-runner', 'stop', '--')).toEqual(['--beads', '--host', '--json']);
    // the hidden helper is not offered as a command
    expect(complete('dx-runner', 'comp')).toEqual(['completion']);
  });

  it.runIf(hasZsh || process.env.CI)('zsh: the same, typed into an interactive zsh on a pseudo-terminal', async () => {
    const { box, env } = await sandboxWithJobs();
    const script = path.join(box.dir, 'completion.zsh');
    fs.writeFileSync(script, (await box.dx(['completion', 'zsh'])).stdout);
    const complete = (line: string) =>
      execFileSync('zsh', ['-f', ZSH_CAPTURE, script, line], { env, encoding: 'utf8', timeout: 60_000 })
        .split('\n')
        .filter(Boolean)
        .sort();
    expect(complete('dx-runner stop --beads ')).toEqual(['bd-cmpl.1', 'bd-cmpl.2']);
    expect(complete('dx-runner report --beads=')).toEqual(['bd-cmpl.1', 'bd-cmpl.2']);
    expect(complete('dx-runner sta')).toEqual(['start', 'status']);
    expect(complete('dx-runner wait --time')).toEqual(['--timeout']);
  });

  it('an unknown shell is one line and exit 1', async () => {
    const box = createSandbox();
    boxes.push(box);
    const r = await box.dx(['completion', 'fish']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/fish.*bash, zsh/);
  });
});
