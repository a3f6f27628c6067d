import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './paths.js';

/**
 * The real agent CLIs, pinned, installed by the test set-up into a folder of their own (not the
 * root dependencies, so `npm ci` stays light for users).
 */
export const REAL_CLIS = {
  'opencode-ai': '1.18.33',
  '@google/gemini-cli': '0.61.0',
  '@anthropic-ai/claude-code': '2.1.197',
} as const;

/**
 * Tools real operators' agents run through, installed beside them from the npm registry: mise, a
 * version manager whose shims find their installs through the operator's XDG dirs, and yarn 4,
 * which reads its registry settings from ~/.yarnrc.yml only.
 */
export const OPERATOR_TOOLS = {
  '@jdxcode/mise': '2026.9.15',
  '@yarnpkg/cli-dist': '4.18.1',
} as const;

export const CLI_DIR = path.join(REPO_ROOT, 'test', '.cache', 'clis');
export const CLI_BIN_DIR = path.join(CLI_DIR, 'node_modules', '.bin');

function installedVersion(pkg: string): string | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(CLI_DIR, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  } catch {
    return undefined;
  }
}

/**
 * The environment every real CLI runs with here, their install scripts included (OpenCode's runs
 * `opencode --version`): HOME, TMPDIR and each CLI's config dirs in `home`, a temporary folder the
 * caller removes (OpenCode makes `$TMPDIR/opencode` and `~/.config/opencode` even for `--version`).
 */
function isolatedEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    TMPDIR: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    XDG_STATE_HOME: path.join(home, '.local', 'state'),
    CLAUDE_CONFIG_DIR: path.join(home, '.claude'),
    GEMINI_CLI_HOME: home,
    GEMINI_CLI_NO_RELAUNCH: 'true',
  };
}

function withTempHome<T>(run: (home: string) => T): T {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-real-clis-'));
  try {
    return run(home);
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

function binariesWork(): boolean {
  return withTempHome((home) =>
    ['opencode', 'claude', 'gemini', 'mise', 'yarn'].every(
      (bin) =>
        spawnSync(path.join(CLI_BIN_DIR, bin), ['--version'], {
          encoding: 'utf8',
          timeout: 60_000,
          env: isolatedEnv(home),
        }).status === 0,
    ),
  );
}

/** Install (or reuse) the pinned CLIs; throws with npm's output when the registry install fails. */
export function ensureRealClis(): void {
  const pinned = { ...REAL_CLIS, ...OPERATOR_TOOLS };
  const missing = Object.entries(pinned).filter(([pkg, version]) => installedVersion(pkg) !== version);
  if (missing.length === 0 && binariesWork()) return;
  fs.mkdirSync(CLI_DIR, { recursive: true });
  fs.writeFileSync(
    path.join(CLI_DIR, 'package.json'),
    `${JSON.stringify(
      {
        name: 'dx-runner-test-clis',
        private: true,
        version: '0.0.0',
        // their postinstall scripts only link the native binary shipped in the package (no download)
        allowScripts: {
          'opencode-ai': true,
          '@anthropic-ai/claude-code': true,
          'node-pty': true,
          '@github/keytar': true,
        },
      },
      null,
      2,
    )}\n`,
  );
  const specs = Object.entries(pinned).map(([pkg, version]) => `${pkg}@${version}`);
  // npm keeps the real user's config and cache; everything the packages' scripts run is isolated
  const npmUser = {
    npm_config_userconfig: process.env.npm_config_userconfig || path.join(os.homedir(), '.npmrc'),
    npm_config_cache: process.env.npm_config_cache || path.join(os.homedir(), '.npm'),
  };
  const r = withTempHome((home) =>
    spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', ...specs], {
      cwd: CLI_DIR,
      encoding: 'utf8',
      timeout: 15 * 60_000,
      env: { ...isolatedEnv(home), ...npmUser, npm_config_engine_strict: 'false' },
    }),
  );
  if (r.status !== 0)
    throw new Error(`installing the real agent CLIs failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  if (!binariesWork()) throw new Error(`the real agent CLIs were installed into ${CLI_DIR} but do not run`);
}
