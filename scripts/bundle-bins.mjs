#!/usr/bin/env node
/**
 * Bundles each oclif bin's commands with @oclif/core and @dx/cli-kit into one ES module,
 * `dist/bundle/run.js`, which `bin/run.js` hands to `launch` (@dx/cli-kit/launch). A call then reads
 * and compiles one file instead of oclif's ~130 CommonJS files (its own, semver, minimatch, …): oclif's
 * import fell from ~130 ms to ~60 ms on this machine kind. Source maps are kept
 * (`NODE_OPTIONS=--enable-source-maps` names the TypeScript lines).
 *
 * Kept out: @dx/core (already a bundle, imported lazily when a command needs it), @dx/cli (dx-batch
 * runs it in-process and locates its bin beside its files), and what oclif only loads in development
 * (typescript, tsx, ts-node). Plugins (providers, dashboard, oclif's own) are not
 * touched: they load from their packages as before, and a plugin's command that imports @oclif/core
 * gets the package's copy — oclif supports plugins that bring their own.
 */
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** Packages whose bin runs a bundle: their registry module (oclif's explicit command discovery). */
export const BUNDLED_BINS = {
  cli: 'dist/registry.js',
  'dx-batch': 'dist/registry.js',
  'nightly-dispatch': 'dist/registry.js',
};

export async function bundleBins() {
  for (const [name, registry] of Object.entries(BUNDLED_BINS)) {
    const pkg = path.join(root, 'packages', name);
    const outdir = path.join(pkg, 'dist', 'bundle');
    fs.rmSync(outdir, { recursive: true, force: true });
    await build({
      stdin: {
        contents: [
          `export { COMMANDS } from './${registry}';`,
          `export { flush, handle, run } from '@oclif/core';`,
        ].join('\n'),
        resolveDir: pkg,
        sourcefile: 'bin-bundle.js',
        loader: 'js',
      },
      outfile: path.join(outdir, 'run.js'),
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      minify: true,
      // oclif is CommonJS: its require() calls need a real require inside an ES module
      banner: {
        js: "import { createRequire as __dxCreateRequire } from 'node:module'; const require = __dxCreateRequire(import.meta.url);",
      },
      // @dx/cli stays its own package for dx-batch: it finds its bin and plugins beside its own files
      external: [
        '@dx/core',
        '@dx/core/*',
        '@dx/cli',
        '@dx/cli/*',
        'typescript',
        'tsx',
        'tsx/*',
        'ts-node',
        'wsl-utils',
      ],
      logLevel: 'warning',
    });
  }
  return Object.keys(BUNDLED_BINS).length;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundleBins();
}
