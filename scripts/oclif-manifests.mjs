#!/usr/bin/env node
/**
 * Writes oclif.manifest.json for every workspace package that declares oclif commands, from the built
 * `dist/` (run after `tsc -b`). Without a manifest oclif imports every command module of every plugin
 * on each call just to learn their ids and flags — ~30 modules before `--version` can answer.
 * The manifest is a build output (git-ignored); `npm ci` (prepare) and `npm test` regenerate it, so
 * it cannot go stale against the dist it describes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Plugin } from '@oclif/core';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const packagesDir = path.join(root, 'packages');

export async function manifestFor(packageRoot) {
  const plugin = new Plugin({
    root: packageRoot,
    type: 'core',
    ignoreManifest: true,
    errorOnManifestCreate: true,
    respectNoCacheDefault: true,
  });
  await plugin.load();
  return plugin.manifest;
}

export async function writeManifests() {
  const written = [];
  for (const name of fs.readdirSync(packagesDir).sort()) {
    const packageRoot = path.join(packagesDir, name);
    const pjsonPath = path.join(packageRoot, 'package.json');
    if (!fs.existsSync(pjsonPath)) continue;
    const pjson = JSON.parse(fs.readFileSync(pjsonPath, 'utf8'));
    if (!pjson.oclif?.commands) continue;
    const manifest = await manifestFor(packageRoot);
    fs.writeFileSync(path.join(packageRoot, 'oclif.manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
    written.push(`${pjson.name} (${Object.keys(manifest.commands).length} commands)`);
  }
  return written;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const written = await writeManifests();
  console.log(`oclif manifests: ${written.join(', ')}`);
}
