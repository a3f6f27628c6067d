#!/usr/bin/env node
/**
 * Bundles @dx/core's built dist/ (with zod) into dist/bundle/: one ES module per public entry plus
 * shared chunks, so a call resolves and reads a handful of files instead of ~170 (core's own ~70 and
 * zod's ~95). The package's exports point their "default" condition here; "development" still points
 * at src/ and "types" at the tsc declarations. Source maps are kept (`NODE_OPTIONS=--enable-source-maps`
 * makes stack traces name the TypeScript lines).
 *
 * Kept out of the bundle: what core already loads lazily when a command needs it (execa, pino, yaml)
 * and @oclif/core (a peer: the CLI's own copy). zod's translated error messages are left out too:
 * core never switches zod's locale, and they were 40% of the bundle.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const core = path.join(root, 'packages', 'core');
const dist = path.join(core, 'dist');

/** Output name → built module. prespawn finds the watcher as ./main.js beside itself, here as in dist/. */
export const CORE_ENTRIES = {
  index: 'index.js',
  'job-reads': 'job-reads.js',
  main: 'jobs/watcher/main.js',
  prespawn: 'jobs/watcher/prespawn.js',
  visible: 'output/visible.js',
  'beads-id': 'jobs/beads-id.js',
  'next-actions': 'health/next-actions.js',
  contract: 'schemas/contract.js',
  'exit-codes': 'exit-codes.js',
  zod: 'zod.js',
};

export async function bundleCore() {
  const outdir = path.join(dist, 'bundle');
  fs.rmSync(outdir, { recursive: true, force: true });
  const zodDir = path.dirname(createRequire(path.join(core, 'package.json')).resolve('zod/package.json'));
  const zodLocalesEn = path.join(zodDir, 'v4', 'locales', 'en.js');
  await build({
    entryPoints: Object.fromEntries(Object.entries(CORE_ENTRIES).map(([out, file]) => [out, path.join(dist, file)])),
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    sourcemap: 'linked',
    minifyWhitespace: true,
    minifySyntax: true,
    chunkNames: 'chunk-[hash]',
    external: ['@oclif/core', 'execa', 'pino', 'yaml'],
    logLevel: 'warning',
    plugins: [
      {
        name: 'zod-english-only',
        setup(b) {
          b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
            args.importer.includes(`${path.sep}zod${path.sep}`)
              ? { path: 'zod-locales', namespace: 'zod-locales' }
              : undefined,
          );
          b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, () => ({
            contents: `export { default as en } from ${JSON.stringify(zodLocalesEn)};`,
            resolveDir: path.dirname(zodLocalesEn),
          }));
        },
      },
    ],
  });
  return Object.keys(CORE_ENTRIES).length;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundleCore();
}
