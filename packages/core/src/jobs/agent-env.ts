import fs from 'node:fs';
import path from 'node:path';
import { homeDirectory, xdgDirectory } from '../config/xdg.js';
import { userPolicyFile } from '../policy/load.js';
import { toolStatePath } from '../state/root.js';

/**
 * Toolchains that find themselves through HOME (or its XDG config dir): under the agent's private
 * HOME they found nothing — rustup's proxies "could not choose a version of cargo to run", pyenv's
 * shims had no version installed, npm and pip lost the operator's registry and its credentials, gpg
 * its keyring.
 * Each is pointed at the operator's own where the operator's environment does not name one and it
 * exists.
 */
const TOOLCHAIN_HOMES: ReadonlyArray<
  [
    variable: string,
    where: (env: NodeJS.ProcessEnv) => string,
    inUse?: (place: string, env: NodeJS.ProcessEnv) => boolean,
  ]
> = [
  ['RUSTUP_HOME', (env) => path.join(homeDirectory(env), '.rustup')],
  ['CARGO_HOME', (env) => path.join(homeDirectory(env), '.cargo')],
  ['PYENV_ROOT', (env) => path.join(homeDirectory(env), '.pyenv')],
  ['GOPATH', (env) => path.join(homeDirectory(env), 'go')],
  ['NPM_CONFIG_USERCONFIG', (env) => path.join(homeDirectory(env), '.npmrc')],
  // pip reads the legacy ~/.pip/pip.conf too, when there is no XDG one
  ['PIP_CONFIG_FILE', (env) => pipConfigOf(env)],
  // gpg's keyring: an operator whose git signs its commits (commit.gpgSign) had every agent commit
  // fail with "gpg failed to sign the data"
  ['GNUPGHOME', (env) => path.join(homeDirectory(env), '.gnupg')],
  // version managers whose shims sit on the operator's PATH: under the private HOME mise said
  // "node is not a valid shim" and the agent's `npm test` never ran (its trusted-config list is
  // in the state dir)
  ['MISE_DATA_DIR', (env) => path.join(dataHome(env), 'mise')],
  ['MISE_CONFIG_DIR', (env) => path.join(configHome(env), 'mise')],
  ['MISE_STATE_DIR', (env) => path.join(stateHome(env), 'mise')],
  ['ASDF_DATA_DIR', (env) => path.join(homeDirectory(env), '.asdf')],
  ['RBENV_ROOT', (env) => path.join(homeDirectory(env), '.rbenv')],
  ['NODENV_ROOT', (env) => path.join(homeDirectory(env), '.nodenv')],
  ['NVM_DIR', (env) => path.join(homeDirectory(env), '.nvm')],
  ['VOLTA_HOME', (env) => path.join(homeDirectory(env), '.volta')],
  ['PNPM_HOME', (env) => path.join(dataHome(env), 'pnpm')],
  ['BUN_INSTALL', (env) => path.join(homeDirectory(env), '.bun')],
  // settings of build tools under the XDG config dir: Go's `go env -w` file (GOPROXY, GOPRIVATE),
  // poetry's package indexes (uv's user config has no such variable: UV_CONFIG_FILE would replace
  // the project's own, so it is copied, see agent-home)
  ['GOENV', (env) => goEnvOf(env)],
  // bundler's global config: a private gem server and its credentials
  ['BUNDLE_USER_CONFIG', (env) => path.join(homeDirectory(env), '.bundle', 'config')],
  ['POETRY_CONFIG_DIR', (env) => path.join(configHome(env), 'pypoetry')],
  // the Pythons uv installed (a project's `.python-version`): without them uv downloads one per job
  ['UV_PYTHON_INSTALL_DIR', (env) => path.join(dataHome(env), 'uv', 'python')],
  // the forge CLIs an agent opens its pull request with (`gh pr create`): under the private HOME
  // "You are not logged into any GitHub hosts", and `gh auth setup-git`'s credential helper, which
  // git's push asks, had no token either
  ['GH_CONFIG_DIR', (env) => path.join(configHome(env), 'gh')],
  ['GLAB_CONFIG_DIR', (env) => path.join(configHome(env), 'glab-cli')],
  // download caches, which the private HOME left cold: every job's `npm ci` or `pip install`
  // fetched every package again. Each is shared only where the operator's settings name no other
  // (the variable would override them); each tool locks its own cache for concurrent jobs
  ['NPM_CONFIG_CACHE', (env) => path.join(homeDirectory(env), '.npm'), unlessSetIn(npmrcOf, /^\s*cache\s*=/m)],
  [
    'PIP_CACHE_DIR',
    (env) => path.join(cacheHome(env), 'pip'),
    unlessSetIn((env) => env.PIP_CONFIG_FILE ?? pipConfigOf(env), /^\s*cache[-_]dir\s*=/m),
  ],
  ['GOCACHE', (env) => path.join(cacheHome(env), 'go-build'), unlessSetIn(goEnvOf, /^GOCACHE=/m)],
  [
    'UV_CACHE_DIR',
    (env) => path.join(cacheHome(env), 'uv'),
    unlessSetIn((env) => path.join(configHome(env), 'uv', 'uv.toml'), /^\s*cache-dir\s*=/m),
  ],
  // yarn 2+'s global folder, its package cache in it (a project's own `.yarn/cache` is the project's)
  [
    'YARN_GLOBAL_FOLDER',
    (env) => path.join(homeDirectory(env), '.yarn', 'berry'),
    unlessSetIn((env) => path.join(homeDirectory(env), '.yarnrc.yml'), /^\s*globalFolder\s*:/m),
  ],
  [
    'POETRY_CACHE_DIR',
    (env) => path.join(cacheHome(env), 'pypoetry'),
    unlessSetIn(
      (env) => path.join(env.POETRY_CONFIG_DIR ?? path.join(configHome(env), 'pypoetry'), 'config.toml'),
      /^\s*cache-dir\s*=/m,
    ),
  ],
  // the environments pre-commit builds for a repository's hooks: each job's commit built them all
  // again (minutes, and a download of every hook's toolchain)
  ['PRE_COMMIT_HOME', (env) => path.join(cacheHome(env), 'pre-commit')],
  ['DENO_DIR', (env) => path.join(cacheHome(env), 'deno')],
  // what `pip install --user` put in ~/.local/lib/pythonX.Y (pytest among it) was not importable
  ['PYTHONUSERBASE', (env) => path.join(homeDirectory(env), '.local'), holdsPythonUserSite],
];

function configHome(env: NodeJS.ProcessEnv): string {
  return xdgDirectory('XDG_CONFIG_HOME', '.config', env);
}

function dataHome(env: NodeJS.ProcessEnv): string {
  return xdgDirectory('XDG_DATA_HOME', path.join('.local', 'share'), env);
}

function stateHome(env: NodeJS.ProcessEnv): string {
  return xdgDirectory('XDG_STATE_HOME', path.join('.local', 'state'), env);
}

function cacheHome(env: NodeJS.ProcessEnv): string {
  return xdgDirectory('XDG_CACHE_HOME', '.cache', env);
}

/** The operator's npm user config: the one the environment names, else `~/.npmrc`. */
function npmrcOf(env: NodeJS.ProcessEnv): string {
  return env.NPM_CONFIG_USERCONFIG ?? env.npm_config_userconfig ?? path.join(homeDirectory(env), '.npmrc');
}

function pipConfigOf(env: NodeJS.ProcessEnv): string {
  return firstExisting(
    path.join(configHome(env), 'pip', 'pip.conf'),
    path.join(homeDirectory(env), '.pip', 'pip.conf'),
  );
}

function goEnvOf(env: NodeJS.ProcessEnv): string {
  return env.GOENV ?? path.join(configHome(env), 'go', 'env');
}

/** A place that exists, unless the operator's settings file names another (it is read for `setting`). */
function unlessSetIn(
  settingsFile: (env: NodeJS.ProcessEnv) => string,
  setting: RegExp,
): (place: string, env: NodeJS.ProcessEnv) => boolean {
  return (place, env) => {
    if (!fs.existsSync(place)) return false;
    try {
      return !setting.test(fs.readFileSync(settingsFile(env), 'utf8'));
    } catch {
      return true; // no settings file: nothing names another place
    }
  };
}

/** The first of the places that exists, else the first. */
function firstExisting(...places: string[]): string {
  return places.find((p) => fs.existsSync(p)) ?? places[0];
}

/** A user base with packages in it (`lib/python3.11/…`), not merely the XDG dirs under ~/.local. */
function holdsPythonUserSite(base: string): boolean {
  try {
    return fs.readdirSync(path.join(base, 'lib')).some((name) => name.startsWith('python'));
  } catch {
    return false;
  }
}

function toolchainHomes(env: NodeJS.ProcessEnv): Record<string, string> {
  const homes: Record<string, string> = {};
  for (const [variable, where, inUse = fs.existsSync] of TOOLCHAIN_HOMES) {
    // npm takes its settings from the environment in either case (npm_config_userconfig)
    if (env[variable] !== undefined || env[variable.toLowerCase()] !== undefined) continue;
    const place = where(env);
    if (inUse(place, env)) homes[variable] = place;
  }
  return homes;
}

/**
 * dx-runner's own places for a dx-runner, dx-batch or nightly-dispatch the agent runs (an agent
 * that dispatches agents): under the private XDG dirs it found another, empty ledger — removed
 * with the job while the jobs it started still ran — and neither the operator's policy, profiles
 * nor plugins.
 */
function toolPlaces(env: NodeJS.ProcessEnv): Record<string, string> {
  const places: Record<string, string> = {};
  const unset = (name: string) => !env[name]?.trim();
  for (const [tool, variable] of [
    ['dx-runner', 'DX_RUNNER_STATE_DIR'],
    ['dx-batch', 'DX_BATCH_DIR'],
    ['nightly-dispatch', 'NIGHTLY_DISPATCH_DIR'],
  ] as const)
    if (unset(variable)) places[variable] = toolStatePath(tool, variable, env);
  const policy = userPolicyFile(undefined, env);
  if (policy && unset('DX_POLICY_FILE')) places.DX_POLICY_FILE = policy;
  const profiles = path.join(configHome(env), 'dx-runner', 'profiles');
  if (unset('DX_RUNNER_PROFILES_DIR') && fs.existsSync(profiles)) places.DX_RUNNER_PROFILES_DIR = profiles;
  // oclif's data dir: where `plugins install`/`link` put the operator's provider plugins
  const data = path.join(dataHome(env), 'dx-runner');
  if (unset('DX_RUNNER_DATA_DIR') && fs.existsSync(data)) places.DX_RUNNER_DATA_DIR = data;
  return places;
}

/** What the agent's private HOME would hide from its tools, as the operator has it. */
export function operatorHomes(env: NodeJS.ProcessEnv): Record<string, string> {
  return { ...toolchainHomes(env), ...toolPlaces(env) };
}
