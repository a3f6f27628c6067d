import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LaunchSpec } from '../providers/contract.js';
import { agentGitConfig, withAgentHomeFiles } from './agent-home.js';

let dir: string;
let operatorHome: string;
let agentHome: string;
let worktree: string;
const operatorEnv = () => ({ HOME: operatorHome, PATH: process.env.PATH, GIT_CONFIG_NOSYSTEM: '1' });
/** The agent's .gitconfig as the watcher writes it from the launch's files. */
const writeAgentGitConfig = async () =>
  fs.writeFileSync(path.join(agentHome, '.gitconfig'), await agentGitConfig(worktree, operatorEnv()));
/** What the agent's git reads, with its private HOME. */
const agentGit = (...args: string[]) =>
  execFileSync('git', args, {
    cwd: worktree,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: agentHome, GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();

beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'dx-agent-home-')));
  operatorHome = path.join(dir, 'operator');
  agentHome = path.join(dir, 'agent');
  // the operator keeps work under ~/work, with its own identity there
  worktree = path.join(operatorHome, 'work', 'wt');
  for (const d of [operatorHome, agentHome, worktree]) fs.mkdirSync(d, { recursive: true });
  execFileSync('git', ['init', '-q'], { cwd: worktree, env: { PATH: process.env.PATH, HOME: operatorHome } });
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the agent's private HOME gets the operator's git settings", () => {
  it('an identity with quotes and backslashes reads back as written; an includeIf on ~ is resolved for the operator', async () => {
    fs.writeFileSync(
      path.join(operatorHome, '.gitconfig'),
      `[alias]\n\tci = commit\n[includeIf "gitdir:~/work/"]\n\tpath = ~/.work.gitconfig\n`,
    );
    fs.writeFileSync(
      path.join(operatorHome, '.work.gitconfig'),
      '[user]\n\tname = "O\\"Brien \\\\ Jr"\n\temail = ob@work.example\n',
    );
    await writeAgentGitConfig();
    expect(agentGit('config', 'user.name')).toBe('O"Brien \\ Jr');
    expect(agentGit('config', 'user.email')).toBe('ob@work.example');
    expect(agentGit('config', 'alias.ci')).toBe('commit');
  });

  it("the operator's includes that name ~ (or a neighbour file) reach the agent's git as the operator means them", async () => {
    fs.writeFileSync(
      path.join(operatorHome, '.gitconfig'),
      [
        '[include]',
        '\tpath = ~/.gitconfig.local',
        '\tpath = aliases.inc',
        '[includeIf "gitdir:~/work/"]',
        '\tpath = ~/.work.gitconfig',
        '[includeIf "gitdir:~/elsewhere/"]',
        '\tpath = ~/.elsewhere.gitconfig',
        '',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(operatorHome, '.gitconfig.local'), '[alias]\n\tst = status\n');
    fs.writeFileSync(path.join(operatorHome, 'aliases.inc'), '[alias]\n\tlg = log --oneline\n');
    fs.writeFileSync(
      path.join(operatorHome, '.work.gitconfig'),
      '[url "git@work.example:"]\n\tinsteadOf = https://work.example/\n[core]\n\tsshCommand = ssh -i ~/.ssh/work -o IdentitiesOnly=yes\n',
    );
    fs.writeFileSync(path.join(operatorHome, '.elsewhere.gitconfig'), '[alias]\n\tnope = status\n');
    await writeAgentGitConfig();
    expect(agentGit('config', 'alias.st')).toBe('status');
    expect(agentGit('config', 'alias.lg')).toBe('log --oneline');
    expect(agentGit('config', 'url.git@work.example:.insteadOf')).toBe('https://work.example/');
    expect(agentGit('config', 'core.sshCommand')).toBe(`ssh -i ${operatorHome}/.ssh/work -o IdentitiesOnly=yes`);
    // a condition that does not hold for the operator does not hold for the agent either
    expect(() => agentGit('config', 'alias.nope')).toThrow();
  });

  it("includes inside an included file that name ~ reach the agent's git too, at any depth", async () => {
    fs.writeFileSync(path.join(operatorHome, '.gitconfig'), '[include]\n\tpath = ~/.gitconfig.local\n');
    fs.mkdirSync(path.join(operatorHome, 'git'));
    fs.writeFileSync(
      path.join(operatorHome, '.gitconfig.local'),
      '[include]\n\tpath = ~/git/aliases\n[includeIf "gitdir:~/work/"]\n\tpath = ~/git/work\n',
    );
    // a neighbour of the included file, named relative to it
    fs.writeFileSync(path.join(operatorHome, 'git', 'aliases'), '[alias]\n\tco = checkout\n[include]\n\tpath = more\n');
    fs.writeFileSync(path.join(operatorHome, 'git', 'more'), '[alias]\n\tbr = branch\n');
    fs.writeFileSync(path.join(operatorHome, 'git', 'work'), '[alias]\n\tw = log -1\n');
    await writeAgentGitConfig();
    expect(agentGit('config', 'alias.co')).toBe('checkout');
    expect(agentGit('config', 'alias.br')).toBe('branch');
    expect(agentGit('config', 'alias.w')).toBe('log -1');
  });

  it("the operator's hooks and global ignore and attributes files, named from ~, reach the agent's git", async () => {
    fs.mkdirSync(path.join(operatorHome, '.config', 'git'), { recursive: true });
    fs.writeFileSync(path.join(operatorHome, '.config', 'git', 'ignore'), '.env\n');
    fs.writeFileSync(path.join(operatorHome, '.config', 'git', 'attributes'), '*.bin binary\n');
    fs.writeFileSync(path.join(operatorHome, '.gitconfig'), '[core]\n\thooksPath = ~/.githooks\n');
    await writeAgentGitConfig();
    expect(agentGit('config', 'core.hooksPath')).toBe(path.join(operatorHome, '.githooks'));
    fs.writeFileSync(path.join(worktree, '.env'), 'TOKEN=x\n');
    expect(agentGit('check-ignore', '.env')).toBe('.env');
    expect(agentGit('check-attr', 'binary', '--', 'a.bin')).toBe('a.bin: binary: set');
  });

  it('goes to the watcher as a launch file, unless the provider has its own; without any settings, a header only', async () => {
    const spec: LaunchSpec = { command: 'agent', args: [], cwd: worktree, env: {} };
    const content = await agentGitConfig(worktree, operatorEnv());
    expect(content).not.toContain('[');
    expect(withAgentHomeFiles(spec, agentHome, { '.gitconfig': content }).files).toEqual([
      { path: path.join(agentHome, '.gitconfig'), content, mode: 0o600 },
    ]);
    const own = {
      ...spec,
      files: [{ path: path.join(agentHome, '.gitconfig'), content: '[user]\n\tname = Plugin\n' }],
    };
    expect(withAgentHomeFiles(own, agentHome, { '.gitconfig': content })).toBe(own);
    expect(withAgentHomeFiles(spec, agentHome, { '.gitconfig': undefined })).toBe(spec);
  });
});
