#!/usr/bin/env node
/**
 * `npm run release`: packs an installable release into dist/release/ — one package,
 * `dx-runner-toolkit`, that bundles every workspace package (each as `npm pack` would publish it,
 * at its own version) and puts every bin on PATH:
 *
 *   npm install -g ./dist/release/dx-runner-toolkit-<version>.tgz
 *
 * Everything is bundled — the workspace packages and their third-party dependencies (oclif, execa,
 * zod, yaml, pino), resolved from the npm registry when the release is packed — so installing it
 * needs no registry. dist/release/release.json records every package's version.
 * Run after a build (`npm ci` builds; or `npx tsc -b`).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
// --out DIR: where to put the release (default dist/release)
const outFlag = process.argv.indexOf('--out');
const out =
  outFlag > 0 && process.argv[outFlag + 1]
    ? path.resolve(process.argv[outFlag + 1])
    : path.join(root, 'dist', 'release');
const UMBRELLA = 'dx-runner-toolkit';

const readJson = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const packagesDir = path.join(root, 'packages');
const packages = fs
  .readdirSync(packagesDir)
  .map((dir) => path.join(packagesDir, dir))
  .filter((dir) => fs.existsSync(path.join(dir, 'package.json')))
  .map((dir) => ({ dir, pjson: readJson(path.join(dir, 'package.json')) }));
const ours = new Set(packages.map((p) => p.pjson.name));

for (const { dir, pjson } of packages) {
  if (!fs.existsSync(path.join(dir, 'dist'))) {
    console.error(`release: ${pjson.name} is not built (no ${path.relative(root, dir)}/dist); run npx tsc -b first`);
    process.exit(1);
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-release-'));
try {
  const stage = path.join(work, UMBRELLA);
  const thirdParty = {};
  const bins = {};
  const versions = {};
  for (const { dir, pjson } of packages) {
    // exactly what `npm pack` would publish: the package's own `files`
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: dir, encoding: 'utf8' }),
    );
    const target = path.join(stage, 'node_modules', ...pjson.name.split('/'));
    fs.mkdirSync(target, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(work, packed.filename), '-C', target, '--strip-components=1']);
    versions[pjson.name] = pjson.version;
    for (const [name, spec] of Object.entries(pjson.dependencies ?? {})) {
      if (ours.has(name)) continue;
      if (thirdParty[name] && thirdParty[name] !== spec)
        throw new Error(`${name}: ${pjson.name} wants ${spec}, another package ${thirdParty[name]}; align them first`);
      thirdParty[name] = spec;
    }
    for (const [bin, file] of Object.entries(pjson.bin ?? {}))
      bins[bin] = path.posix.join('node_modules', pjson.name, file);
  }
  const version = versions['@dx/cli'];
  const umbrella = {
    name: UMBRELLA,
    version,
    description: 'dx-runner, dx-batch, dx-dispatch, cc-glm-job and nightly-dispatch, installable with npm i -g',
    type: 'module',
    license: 'UNLICENSED',
    engines: readJson(path.join(root, 'package.json')).engines,
    bin: bins,
    dependencies: {
      ...Object.fromEntries(Object.entries(versions).map(([name, v]) => [name, v])),
      ...Object.fromEntries(
        Object.keys(thirdParty)
          .sort()
          .map((name) => [name, readJson(path.join(root, 'node_modules', name, 'package.json')).version]),
      ),
    },
    // everything bundled: the install needs no registry, and npm never mistakes a bundled package's
    // own dependency for a missing part of the bundle
    bundleDependencies: true,
    dxRunnerRelease: { versions },
  };
  fs.writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(umbrella, null, 2)}\n`);
  fs.writeFileSync(
    path.join(stage, 'README.md'),
    `# ${UMBRELLA} ${version}\n\nInstall: \`npm install -g ./${UMBRELLA}-${version}.tgz\`. See the dx-runner README, "Install on a host".\n`,
  );
  // the third-party dependencies exactly as the lock file installed them in the checkout: the
  // production dependency tree (npm ls --omit=dev), each package copied to the same place
  const tree = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
    .split('\n')
    .filter((p) => p && p !== root);
  const workspaceDirs = packages.map(({ dir, pjson }) => ({ rel: path.relative(root, dir), name: pjson.name }));
  for (const dir of tree) {
    let rel = path.relative(root, dir);
    const name = rel.split('node_modules/').at(-1);
    if (ours.has(name)) continue;
    // a dependency nested under a workspace package goes under that package in the bundle
    const owner = workspaceDirs.find((w) => rel.startsWith(`${w.rel}/node_modules/`));
    if (owner) rel = path.join('node_modules', owner.name, rel.slice(owner.rel.length + 1));
    else if (!rel.startsWith('node_modules')) continue;
    const nested = path.join(dir, 'node_modules');
    fs.cpSync(dir, path.join(stage, rel), {
      recursive: true,
      dereference: true,
      // nested dependencies are entries of their own in the tree
      filter: (src) => src !== nested,
    });
  }
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const [packed] = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--pack-destination', out], { cwd: stage, encoding: 'utf8' }),
  );
  const release = { package: UMBRELLA, version, tarball: packed.filename, versions, bins: Object.keys(bins).sort() };
  fs.writeFileSync(path.join(out, 'release.json'), `${JSON.stringify(release, null, 2)}\n`);
  console.log(`packed ${path.relative(root, path.join(out, packed.filename))} (${packed.size} bytes)`);
  console.log(`bins: ${release.bins.join(', ')}`);
  console.log(`install: npm install -g ./${path.relative(root, path.join(out, packed.filename))}`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
