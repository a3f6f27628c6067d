#!/usr/bin/env node
/**
 * Bundles each oclif bin's commands with @oclif/core and @dx/cli-kit into one module in `dist/bundle/`,
 * which `bin/run.js` hands to `launch` (@dx/cli-kit/launch). A call then reads and compiles one file
 * instead of oclif's ~130 CommonJS files (its own, semver, minimatch, …): oclif's import fell from
 * ~130 ms to ~60 ms on this machine kind. Source maps are kept (`NODE_OPTIONS=--enable-source-maps`
 * names the TypeScript lines).
 *
 * dx-runner's bundle is CommonJS, `run.cjs`, shipped with V8's code cache (`run.cjs.v8-cache`, see
 * @dx/cli-kit's cached-bundle): it skips compiling the bundle on every call. Its dynamic imports are
 * renamed to the loader's `__dxImport`, and only the entries of @dx/core it loads lazily stay outside
 * (the few small ones it imports up front — ids, exit codes, output — are ES modules a CommonJS bundle
 * could not require, so they are bundled in). dx-batch's and nightly-dispatch's commands import all of
 * @dx/core up front, so theirs stay ES modules, `run.js`.
 *
 * Kept out: @dx/core (already a bundle), @dx/cli (dx-batch runs it in-process and locates its bin
 * beside its files), and what oclif loads only in development. Plugins
 * (providers, dashboard, oclif's own) are not touched: they load from their packages as before, and a
 * plugin's command that imports @oclif/core gets the package's copy — oclif supports plugins that
 * bring their own.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');

/** The name the loader passes the bundle its import() under (built by `tsc -b` before this runs). */
const { BUNDLE_IMPORT } = await import(pathToFileURL(path.join(root, 'packages/cli-kit/dist/cached-bundle.js')).href);

/** Packages whose bin runs a bundle: their registry module (oclif's explicit command discovery), and the bundle's form. */
export const BUNDLED_BINS = {
  cli: { registry: 'dist/registry.js', format: 'cjs' },
  'dx-batch': { registry: 'dist/registry.js', format: 'esm' },
  'nightly-dispatch': { registry: 'dist/registry.js', format: 'esm' },
};

/**
 * What oclif loads only in development (typescript, tsx, ts-node): left to node_modules. (wsl-utils is
 * bundled: oclif imports it on every start-up to name the platform, six ES modules resolved and
 * compiled per call outside the code cache; inside, `check --json` ran 0.97 of the wall, 0.95 of the CPU.)
 */
const OCLIF_OPTIONAL = ['typescript', 'tsx', 'tsx/*', 'ts-node'];

/** The entries of @dx/core a CommonJS bundle imports lazily (by `import()`): they stay outside it. */
const LAZY_CORE = /^@dx\/core(\/job-reads|\/prespawn)?$/;

const FORMATS = {
  esm: {
    outfile: 'run.js',
    // oclif is CommonJS: its require() calls need a real require inside an ES module
    banner:
      "import { createRequire as __dxCreateRequire } from 'node:module'; const require = __dxCreateRequire(import.meta.url);",
    external: ['@dx/core', '@dx/core/*', '@dx/cli', '@dx/cli/*', ...OCLIF_OPTIONAL],
    plugins: [],
  },
  cjs: {
    outfile: 'run.cjs',
    // the loader passes `__dxImport`; under Node's own loader (source maps on) a CommonJS module imports
    // natively. `import.meta` (locate.ts resolves its own package) is rebuilt from CommonJS's own means.
    banner: [
      `var ${BUNDLE_IMPORT} = typeof ${BUNDLE_IMPORT} === "function" ? ${BUNDLE_IMPORT} : (s) => import (s);`,
      'var __dxImportMeta = { url: require("node:url").pathToFileURL(__filename).href,',
      ' resolve: (s) => require("node:url").pathToFileURL(require.resolve(s)).href };',
    ].join(''),
    define: { 'import.meta': '__dxImportMeta' },
    external: ['@dx/cli', '@dx/cli/*', ...OCLIF_OPTIONAL],
    // a package name marked external takes its subpaths with it: name the lazy entries one by one
    plugins: [
      {
        name: 'lazy-core-outside',
        setup(b) {
          b.onResolve({ filter: LAZY_CORE }, (args) => ({ path: args.path, external: true }));
        },
      },
    ],
  },
};

/**
 * `import(` → `__dxImport(` in esbuild's minified output, which prints every dynamic import as
 * `import(` with nothing between; `"import()"` in a message stays. The banner's `import (s)` is
 * written with a space so it is not renamed.
 */
export function renameDynamicImports(code) {
  let renamed = 0;
  const out = code.replace(/(?<![\w$.])import\((?!\))/g, () => {
    renamed++;
    return `${BUNDLE_IMPORT}(`;
  });
  return { code: out, renamed };
}

export async function bundleBins() {
  for (const [name, { registry, format }] of Object.entries(BUNDLED_BINS)) {
    const pkg = path.join(root, 'packages', name);
    const outdir = path.join(pkg, 'dist', 'bundle');
    const form = FORMATS[format];
    const outfile = path.join(outdir, form.outfile);
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
      outfile,
      bundle: true,
      format,
      platform: 'node',
      target: 'node20',
      sourcemap: 'linked',
      minify: true,
      banner: { js: form.banner },
      external: form.external,
      plugins: form.plugins,
      define: form.define,
      logLevel: 'warning',
    });
    if (format === 'cjs') {
      const { code, renamed } = renameDynamicImports(fs.readFileSync(outfile, 'utf8'));
      if (renamed === 0) throw new Error(`${outfile}: no dynamic import found to hand to the loader`);
      fs.writeFileSync(outfile, code);
      writeCodeCacheOf(pkg, outfile);
    }
  }
  return Object.keys(BUNDLED_BINS).length;
}

/**
 * Runs `dx-runner version --json` from the new bundle in a plain `node` (see runInPlainNode), then
 * writes the cache with all that call compiled: oclif's start-up, flag parsing and a command's run,
 * the path every call shares. The call has no side effect; its output is dropped, and it runs with
 * an empty HOME so the plugins a user linked play no part. Without a cache the bin only compiles
 * its bundle as it did before, so a failure here is a warning, not a failed `npm ci`.
 */
function writeCodeCacheOf(pkg, bundleFile) {
  const kit = (file) => JSON.stringify(pathToFileURL(path.join(root, 'packages/cli-kit/dist', file)).href);
  const binUrl = JSON.stringify(pathToFileURL(path.join(pkg, 'bin', 'run.js')).href);
  const bundle = JSON.stringify(path.relative(path.join(pkg, 'bin'), bundleFile));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-code-cache-'));
  try {
    const r = runInPlainNode(
      [
        `import { launch } from ${kit('launch.js')};`,
        `import { writeCodeCache } from ${kit('cached-bundle.js')};`,
        `await launch(${binUrl}, { args: ['version', '--json'], bundle: ${bundle} });`,
        `writeCodeCache(${JSON.stringify(bundleFile)});`,
      ].join('\n'),
      {
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { HOME: home, XDG_CONFIG_HOME: home, XDG_DATA_HOME: home, XDG_CACHE_HOME: home },
      },
    );
    if (!fs.existsSync(`${bundleFile}.v8-cache`))
      console.warn(
        `warning: ${bundleFile}: no code cache (exit ${r.status ?? r.signal}); the bin compiles it on each call`,
      );
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Runs an ES module's text in a fresh `node` without NODE_OPTIONS: V8 takes a code cache only in a
 * process with the flags it was made with, and the bins run as plain `node`.
 */
export function runInPlainNode(source, { env: extraEnv = {}, ...options } = {}) {
  const env = { ...process.env, ...extraEnv };
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, ['--input-type=module', '-e', source], { env, encoding: 'utf8', ...options });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await bundleBins();
}
