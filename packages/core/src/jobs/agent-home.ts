import fs from 'node:fs';
import path from 'node:path';
import { homeDirectory, xdgDirectory } from '../config/xdg.js';
import { git } from '../process/git.js';

/**
 * The agent's HOME is private (the CLIs write into ~), which hid the operator's git settings from
 * the agent's git: every commit an agent made failed with "Author identity unknown". Its private
 * HOME gets a `.gitconfig` that includes the operator's global git config files (read, never
 * written: what the agent sets with `git config --global` stays in the private file), then the
 * identity git resolves in the worktree for the operator — an `includeIf "gitdir:~/work/"` in the
 * operator's file would name the private HOME from inside the agent's git, and match nothing.
 * A plugin's own `.gitconfig` in the job home (a launch file) is left as it is. Failing to resolve
 * the identity costs only the identity; failing to write the file is the job's failure to prepare.
 */
export async function writeAgentGitConfig(
  home: string,
  worktree: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const file = path.join(home, '.gitconfig');
  if (fs.existsSync(file)) return;
  const globals = [
    path.join(homeDirectory(env), '.gitconfig'),
    path.join(xdgDirectory('XDG_CONFIG_HOME', '.config', env), 'git', 'config'),
  ].filter((f) => fs.existsSync(f));
  const identity = await operatorIdentity(worktree, env);
  const lines = [
    "# written by dx-runner: the operator's git settings, read-only, for the agent's private HOME",
    ...globals.flatMap((f) => quoted(f) ?? []).map((f) => `[include]\n\tpath = ${f}`),
  ];
  const user = Object.entries(identity).flatMap(([key, value]) => {
    const v = quoted(value);
    return v ? [`\t${key} = ${v}`] : [];
  });
  if (user.length > 0) lines.push('[user]', ...user);
  fs.writeFileSync(file, `${lines.join('\n')}\n`, { mode: 0o600, flag: 'wx' });
}

/** user.name and user.email as git resolves them in the worktree for the operator (the last value wins). */
async function operatorIdentity(worktree: string, env: NodeJS.ProcessEnv): Promise<{ name?: string; email?: string }> {
  const r = await git(worktree, ['config', '--includes', '-z', '--get-regexp', '^user\\.(name|email)$'], env);
  const identity: { name?: string; email?: string } = {};
  if (r.code !== 0) return identity;
  // -z: each entry is "key\nvalue\0"
  for (const entry of r.stdout.split('\0')) {
    const nl = entry.indexOf('\n');
    if (nl < 0) continue;
    const key = entry.slice(0, nl);
    if (key === 'user.name') identity.name = entry.slice(nl + 1);
    if (key === 'user.email') identity.email = entry.slice(nl + 1);
  }
  return identity;
}

/** A value as git config reads it back, or undefined for one it cannot hold (a line break). */
function quoted(value: string): string | undefined {
  if (/[\n\r\0]/.test(value)) return undefined;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
