import fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/**
 * A CommonJS dependency loaded on first use (only the commands that read YAML or log need them). The
 * build ships each of these as one file beside core's bundle (scripts/bundle-core.mjs): yaml loads in
 * ~20 ms instead of ~60 ms spread over its ~70 files, pino in ~20 ms instead of ~40 ms, and the
 * watcher's private memory is 1.5 MiB smaller. Run from sources, the package itself is loaded.
 */
export function requireVendored<T>(name: 'yaml' | 'pino'): T {
  const vendored = fileURLToPath(new URL(`./vendor/${name}.cjs`, import.meta.url));
  return require(fs.existsSync(vendored) ? vendored : name) as T;
}
