#!/usr/bin/env node
/**
 * Bundles @dx/core's built dist/ (with zod) into dist/bundle/: one ES module per public entry plus
 * shared chunks, so a call resolves and reads a handful of files instead of ~170 (core's own ~70 and
 * zod's ~95). The package's exports point their "default" condition here; "development" still points
 * at src/ and "types" at the tsc declarations. Source maps are kept (`NODE_OPTIONS=--enable-source-maps`
 * makes stack traces name the TypeScript lines).
 *
 * Kept out of the bundle: what core loads lazily when a command needs it (execa, pino, yaml) and
 * @oclif/core (a peer: the CLI's own copy). zod's translated error messages are left out too: core
 * never switches zod's locale, and they were 40% of the bundle. yaml and pino (CommonJS, loaded with a
 * synchronous require) ship as one file each in dist/bundle/vendor/, where core's requireVendored
 * finds them: one file to read and compile instead of dozens.
 */
import { createHash } from 'node:crypto';
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
  visible: 'output/index.js',
  'beads-id': 'jobs/beads-id.js',
  'next-actions': 'health/next-actions.js',
  contract: 'schemas/contract.js',
  'exit-codes': 'exit-codes.js',
  zod: 'zod.js',
};

/** CommonJS dependencies core requires on first use (src/vendor.ts), each shipped as one file. */
const VENDORED = ['yaml', 'pino'];

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
  for (const name of VENDORED)
    await build({
      entryPoints: [createRequire(path.join(core, 'package.json')).resolve(name)],
      outfile: path.join(outdir, 'vendor', `${name}.cjs`),
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      minify: true,
      logLevel: 'warning',
    });
  writePrebuiltYaml(path.join(outdir, 'prebuilt'));
  return Object.keys(CORE_ENTRIES).length;
}

/** Shipped YAML files whose parsed data core's readYamlFile finds by the SHA-256 of their text. */
const PREBUILT_YAML = [
  path.join(core, 'policy'),
  path.join(core, 'profiles'),
  path.join(root, 'packages', 'provider-sim', 'scenarios'),
];

/** Parses as readYamlFile does; a file that does not parse cleanly gets no twin (readYamlFile reports it). */
function writePrebuiltYaml(outdir) {
  const { parseDocument } = createRequire(path.join(core, 'package.json'))('yaml');
  fs.mkdirSync(outdir, { recursive: true });
  for (const dir of PREBUILT_YAML) {
    if (!fs.existsSync(dir)) continue;
    for (const name of fs.readdirSync(dir).filter((n) => /\.ya?ml$/.test(n))) {
      const text = fs.readFileSync(path.join(dir, name), 'utf8');
      const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true });
      if (doc.errors.length > 0) continue;
      let data;
      try {
        data = doc.toJS() ?? {};
      } catch {
        continue;
      }
      const hash = createHash('sha256').update(text).digest('hex');
      fs.writeFileSync(path.join(outdir, `${hash}.json`), JSON.stringify(data));
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundleCore();
}
