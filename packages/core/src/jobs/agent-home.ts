import fs from 'node:fs';
import path from 'node:path';
import { expandHome, homeDirectory, xdgDirectory } from '../config/xdg.js';
import type { LaunchSpec } from '../providers/contract.js';
import { gitRefusal } from '../gates/worktree.js';
import { git } from '../process/git.js';

/**
 * Settings resolved for the operator and written out whole: the identity (an
 * `includeIf "gitdir:~/work/"` in the operator's file would name the private HOME inside the
 * agent's git, and match nothing), and the ones that name files, which git expands from `~` —
 * the operator's hooks (a secret scanner in `core.hooksPath`) and the global ignore file, without
 * which the agent's `git add -A` took in what the operator's git ignores (a `.env`), and the ssh key
 * that signs the operator's commits.
 */
const RESOLVED = [
  'user.name',
  'user.email',
  'core.hookspath',
  'core.excludesfile',
  'core.attributesfile',
  'commit.template',
  // an ssh signing key (gpg.format = ssh) is a file, often named from ~
  'user.signingkey',
  'gpg.ssh.allowedsignersfile',
  // a shell command: its `~/` words (`ssh -i ~/.ssh/work`) are the operator's home
  'core.sshcommand',
];

/**
 * The agent's HOME is private (the CLIs write into ~), which hid the operator's git settings from
 * the agent's git: every commit an agent made failed with "Author identity unknown". Its private
 * HOME gets a `.gitconfig` that includes the operator's global git config files (read, never
 * written: what the agent sets with `git config --global` stays in the private file), then the
 * RESOLVED settings as git resolves them in the worktree for the operator, and the operator's
 * default global ignore and attributes files (under XDG_CONFIG_HOME, which is private too).
 * Asked by the launch while it takes its locks; the watcher writes it with the provider's launch
 * files (see withAgentHomeFiles). The same git call tells a repository git cannot use (its
 * refusal is thrown: see gates/worktree gitRefusal).
 */
export async function agentGitConfig(worktree: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const gitConfigDir = path.join(xdgDirectory('XDG_CONFIG_HOME', '.config', env), 'git');
  const globals = [path.join(homeDirectory(env), '.gitconfig'), path.join(gitConfigDir, 'config')].filter((f) =>
    fs.existsSync(f),
  );
  const { settings, includes } = await operatorGit(worktree, env, globals);
  for (const [key, name] of [
    ['core.excludesfile', 'ignore'],
    ['core.attributesfile', 'attributes'],
  ] as const) {
    const fallback = path.join(gitConfigDir, name);
    if (!settings.has(key) && fs.existsSync(fallback)) settings.set(key, fallback);
  }
  const lines = [
    "# written by dx-runner: the operator's git settings, read-only, for the agent's private HOME",
    ...globals.flatMap((f) => quoted(f) ?? []).map((f) => `[include]\n\tpath = ${f}`),
    ...includes,
  ];
  const sections = new Map<string, string[]>();
  for (const [key, value] of settings) {
    const v = quoted(value);
    if (!v) continue;
    const [section, name] = key.split('.');
    sections.set(section, [...(sections.get(section) ?? []), `\t${name} = ${v}`]);
  }
  for (const [section, entries] of sections) lines.push(`[${section}]`, ...entries);
  return `${lines.join('\n')}\n`;
}

/**
 * Files tools read from HOME (or its XDG config dir) only, with no variable to name another place:
 * asdf's global `~/.tool-versions` (without it, "No version is set" for every tool the project does
 * not pin), yarn's `~/.yarnrc.yml` (yarn 2+ lost the operator's registry and its token), uv's
 * user `uv.toml` (its package index; `UV_CONFIG_FILE` would replace the project's own config) and
 * git's credential store. By
 * their place in the private HOME, and where the operator has them. Copied, not linked: what the
 * agent writes there stays in its private HOME.
 */
const HOME_ONLY_FILES: ReadonlyArray<[inHome: string, operators: (env: NodeJS.ProcessEnv) => string]> = [
  ['.tool-versions', (env) => path.join(homeDirectory(env), '.tool-versions')],
  ['.yarnrc.yml', (env) => path.join(homeDirectory(env), '.yarnrc.yml')],
  [
    path.join('.config', 'uv', 'uv.toml'),
    (env) => path.join(xdgDirectory('XDG_CONFIG_HOME', '.config', env), 'uv', 'uv.toml'),
  ],
  // git's credential store (`credential.helper = store`, which reads both): the agent's `git push`
  // over https found no token and failed "could not read Username"
  ['.git-credentials', (env) => path.join(homeDirectory(env), '.git-credentials')],
  [
    path.join('.config', 'git', 'credentials'),
    (env) => path.join(xdgDirectory('XDG_CONFIG_HOME', '.config', env), 'git', 'credentials'),
  ],
];
/** A dotfile is a page of settings: one past this is not copied. */
const MAX_DOTFILE_BYTES = 1024 * 1024;

/** The operator's HOME_ONLY_FILES that exist, by their place in the private HOME, with their content. */
export function operatorDotfiles(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const files: Record<string, string> = {};
  for (const [inHome, operators] of HOME_ONLY_FILES) {
    const file = operators(env);
    try {
      if (fs.statSync(file).size <= MAX_DOTFILE_BYTES) files[inHome] = fs.readFileSync(file, 'utf8');
    } catch {
      // not there (or not readable): the agent's tools go without it, as before
    }
  }
  return files;
}

/**
 * The launch with `files` (by name: the agent's `.gitconfig`, the operator's dotfiles) among the
 * files the watcher writes into the job's home before the agent starts — each unless the provider
 * put one there itself.
 */
export function withAgentHomeFiles(
  spec: LaunchSpec,
  home: string,
  files: Record<string, string | undefined>,
): LaunchSpec {
  const own = new Set((spec.files ?? []).map((f) => path.resolve(f.path)));
  const added = Object.entries(files).flatMap(([name, content]) => {
    const file = path.join(home, name);
    return content === undefined || own.has(file) ? [] : [{ path: file, content, mode: 0o600 }];
  });
  return added.length === 0 ? spec : { ...spec, files: [...(spec.files ?? []), ...added] };
}

/** RESOLVED settings that name no file; the others name one, their `~/` the operator's home. */
const NOT_PATHS = new Set(['user.name', 'user.email']);
/** RESOLVED settings that are shell commands: each word starting `~/` names the operator's home. */
const SHELL_COMMANDS = new Set(['core.sshcommand']);

/** What the launch takes from the operator's git in the worktree. */
interface OperatorGit {
  /** The RESOLVED settings (the last value of each wins; `~/` expanded). */
  settings: Map<string, string>;
  /**
   * The `[include]` and `[includeIf]` sections of the operator's global files, and of the files
   * those include, that name `~` (or a path relative to the file), as they mean it: in the private
   * HOME, `~/.gitconfig.local` and `includeIf "gitdir:~/work/"` would name files and directories
   * that are not there.
   */
  includes: string[];
}

/** The operator's git settings in the worktree; `globals` are the operator's global config files. */
async function operatorGit(worktree: string, env: NodeJS.ProcessEnv, globals: string[]): Promise<OperatorGit> {
  const keys = RESOLVED.map((k) => k.replace('.', '\\.')).join('|');
  const pattern = `^(${keys}|include\\.path|includeif\\..+\\.path)$`;
  // raw values (no --type=path): whether an include names `~` is what tells it apart
  const r = await git(worktree, ['config', '--includes', '--show-origin', '-z', '--get-regexp', pattern], env);
  const found: OperatorGit = { settings: new Map(), includes: [] };
  // 1: none of them set; a repository git cannot use (a broken config, a pruned linked worktree) fails it
  const refusal = r.code === 1 ? undefined : gitRefusal(worktree, r);
  if (refusal) throw refusal;
  if (r.code !== 0) return found;
  const home = homeDirectory(env);
  const expand = (value: string) => expandHome(value, env);
  // the operator's global files and every file they include, at any depth: git lists an included
  // file's entries right after the include that names it
  const operatorFiles = new Set(globals);
  // -z with --show-origin: "file:<path>\0key\nvalue\0" per entry (the key's section and name lower-cased)
  const parts = r.stdout.split('\0');
  for (let i = 0; i + 1 < parts.length; i += 2) {
    const origin = parts[i].startsWith('file:') ? parts[i].slice('file:'.length) : '';
    const nl = parts[i + 1].indexOf('\n');
    if (nl <= 0) continue;
    const key = parts[i + 1].slice(0, nl);
    const value = parts[i + 1].slice(nl + 1);
    if (!key.startsWith('include')) {
      found.settings.set(
        key,
        NOT_PATHS.has(key)
          ? value
          : SHELL_COMMANDS.has(key)
            ? value.replace(/(^|\s)~\//g, `$1${home}/`)
            : expand(value),
      );
      continue;
    }
    if (!operatorFiles.has(origin)) continue;
    // a relative path is the including file's neighbour
    const file = value.startsWith('~') ? expand(value) : path.resolve(path.dirname(origin), value);
    operatorFiles.add(file);
    const condition = key === 'include.path' ? undefined : key.slice('includeif.'.length, -'.path'.length);
    const resolvedCondition = condition?.replace(/^(gitdir(?:\/i)?:)~\//, `$1${home}/`);
    if (file === value && resolvedCondition === condition) continue; // absolute, and no ~: the include works as it is
    const target = quoted(file);
    const subsection = resolvedCondition === undefined ? undefined : quoted(resolvedCondition);
    if (!target || (resolvedCondition !== undefined && !subsection)) continue;
    found.includes.push(`${subsection ? `[includeIf ${subsection}]` : '[include]'}\n\tpath = ${target}`);
  }
  return found;
}

/** A value as git config reads it back, or undefined for one it cannot hold (a line break). */
function quoted(value: string): string | undefined {
  if (/[\n\r\0]/.test(value)) return undefined;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
