import fs from 'node:fs';
import path from 'node:path';
import { URL_PASSWORD } from './redact.js';

/**
 * The operator's credentials in the settings files the agent's tools are pointed at (see
 * jobs/agent-env): an agent that runs `cat $NPM_CONFIG_USERCONFIG` or `pip config list` prints
 * them, and the job's log, outcome and report must not keep them. Named here so the watcher
 * scrubs them like any secret held in an environment variable.
 */
const SETTINGS_FILES: ReadonlyArray<
  [file: (env: Record<string, string | undefined>) => string | undefined, read: (text: string) => string[]]
> = [
  [(env) => env.NPM_CONFIG_USERCONFIG ?? env.npm_config_userconfig, npmrcSecrets],
  [(env) => env.PIP_CONFIG_FILE, urlPasswords],
  [(env) => env.GOENV, urlPasswords],
  [(env) => env.BUNDLE_USER_CONFIG, bundlerSecrets],
  [(env) => (env.POETRY_CONFIG_DIR ? path.join(env.POETRY_CONFIG_DIR, 'auth.toml') : undefined), quotedSecrets],
  [(env) => (env.CARGO_HOME ? path.join(env.CARGO_HOME, 'credentials.toml') : undefined), quotedSecrets],
  [(env) => (env.CARGO_HOME ? path.join(env.CARGO_HOME, 'credentials') : undefined), quotedSecrets],
  [(env) => (env.GH_CONFIG_DIR ? path.join(env.GH_CONFIG_DIR, 'hosts.yml') : undefined), yamlTokens],
  [(env) => (env.GLAB_CONFIG_DIR ? path.join(env.GLAB_CONFIG_DIR, 'config.yml') : undefined), yamlTokens],
];

/** A settings file is a page of text: one past this is not read. */
const MAX_SETTINGS_BYTES = 1024 * 1024;

/** Settings files the job writes into the agent's private HOME (copies of the operator's), by name. */
const HOME_FILES: Readonly<Record<string, (text: string) => string[]>> = {
  '.yarnrc.yml': yarnrcSecrets,
  '.npmrc': npmrcSecrets,
  'uv.toml': urlPasswords,
  // git's credential store: one `https://user:token@host` per line
  '.git-credentials': urlPasswords,
  credentials: urlPasswords,
};

/**
 * The credentials in the settings files `env` points the agent's tools at, and in the files the
 * launch writes into its HOME (`homeFiles`, with their content).
 */
export function secretsInSettingsFiles(
  env: Record<string, string | undefined>,
  homeFiles: ReadonlyArray<{ path: string; content: string }> = [],
): string[] {
  const secrets: string[] = [];
  for (const file of homeFiles) secrets.push(...(HOME_FILES[path.basename(file.path)]?.(file.content) ?? []));
  for (const [file, read] of SETTINGS_FILES) {
    const name = file(env);
    if (!name) continue;
    let text: string;
    try {
      if (fs.statSync(name).size > MAX_SETTINGS_BYTES) continue;
      text = fs.readFileSync(name, 'utf8');
    } catch {
      continue; // none there: nothing to scrub
    }
    secrets.push(...read(text));
  }
  return secrets;
}

/** `_authToken`, `_auth` and `_password` values (`//registry/:_authToken=…`), not `${VAR}` references. */
function npmrcSecrets(text: string): string[] {
  const values: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(?:\/\/[^=]*:)?_(?:authToken|auth|password)\s*=\s*(.+?)\s*$/.exec(line);
    if (m && !m[1].startsWith('${')) values.push(m[1].replace(/^"(.*)"$/, '$1'));
  }
  return [...values, ...urlPasswords(text)];
}

/** yarn's `npmAuthToken` and `npmAuthIdent` (top level or under a scope or registry). */
function yarnrcSecrets(text: string): string[] {
  const values = [...text.matchAll(/^\s*npmAuth(?:Token|Ident)\s*:\s*["']?([^"'\s#]+)["']?/gm)].map((m) => m[1]);
  return [...values.filter((v) => !v.startsWith('${')), ...urlPasswords(text)];
}

/** bundler's credentials for a gem server: `BUNDLE_GEMS__EXAMPLE__COM: "user:password"` (a host-named key). */
function bundlerSecrets(text: string): string[] {
  const values = [...text.matchAll(/^\s*BUNDLE_[A-Z0-9_]*__[A-Z0-9_]+:\s*["']?([^"'\n]+?)["']?\s*$/gm)].map(
    (m) => m[1],
  );
  return [
    ...values,
    ...values.flatMap((v) => (v.includes(':') ? [v.slice(v.indexOf(':') + 1)] : [])),
    ...urlPasswords(text),
  ];
}

/** The password of every `scheme://user:password@host` in the text. */
function urlPasswords(text: string): string[] {
  return [...text.matchAll(URL_PASSWORD)].map((m) => m[2]);
}

/** `password = "…"` and `token = "…"` (poetry's auth.toml, cargo's credentials). */
function quotedSecrets(text: string): string[] {
  return [...text.matchAll(/^\s*(?:password|token)\s*=\s*["']([^"'\n]+)["']/gim)].map((m) => m[1]);
}

/** `oauth_token: …` and `token: …` of gh's `hosts.yml` and glab's `config.yml`, not `${VAR}` references. */
function yamlTokens(text: string): string[] {
  return [...text.matchAll(/^\s*(?:oauth_token|token)\s*:\s*["']?([^"'\s#]+)["']?/gm)]
    .map((m) => m[1])
    .filter((v) => !v.startsWith('${'));
}
