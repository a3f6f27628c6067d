import os from 'node:os';
import path from 'node:path';

/**
 * The user's home: HOME when it is an absolute path, else the account's. A relative HOME would
 * move with the working directory: cron (cwd /) and a shell would then use different state roots.
 */
export function homeDirectory(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HOME && path.isAbsolute(env.HOME)) return env.HOME;
  try {
    return os.userInfo().homedir;
  } catch {
    return os.homedir();
  }
}

/**
 * An XDG base directory: the variable when it is an absolute path (the XDG spec: a relative one is
 * invalid and ignored), else `~/<fallback>`.
 */
export function xdgDirectory(
  name: 'XDG_STATE_HOME' | 'XDG_CONFIG_HOME' | 'XDG_DATA_HOME' | 'XDG_CACHE_HOME',
  fallback: string,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const value = env[name];
  return value && path.isAbsolute(value) ? value : path.join(homeDirectory(env), fallback);
}

/** `~` and `~/…` in a path an operator wrote (a policy's prefixes, BEADS_REPO_PATH) as the home. */
export function expandHome(p: string, env: NodeJS.ProcessEnv = process.env): string {
  if (p === '~') return homeDirectory(env);
  if (p.startsWith('~/')) return path.join(homeDirectory(env), p.slice(2));
  return p;
}
