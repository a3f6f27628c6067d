import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/paths.js';

/**
 * The bins that run a bundle find their commands in a registry (oclif's explicit discovery,
 * src/registry.ts): every command file must be listed under oclif's id for it, and nothing else,
 * or a command silently stops existing.
 */
const PACKAGES = ['cli', 'dx-batch', 'nightly-dispatch'];

/** src/commands/fleet/status.ts → "fleet:status", completion/index.ts → "completion": oclif's ids. */
function commandFiles(dir: string, prefix: string[] = []): Record<string, string> {
  const found: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) Object.assign(found, commandFiles(path.join(dir, entry.name), [...prefix, entry.name]));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) {
      const name = entry.name.replace(/\.ts$/, '');
      found[[...prefix, ...(name === 'index' ? [] : [name])].join(':')] = path.join(dir, entry.name);
    }
  }
  return found;
}

describe('the command registries (oclif explicit discovery)', () => {
  it.each(PACKAGES)('%s lists every command module under its id, and nothing else', async (pkg) => {
    const src = path.join(REPO_ROOT, 'packages', pkg, 'src');
    const { COMMANDS } = (await import(path.join(src, 'registry.ts'))) as { COMMANDS: Record<string, unknown> };
    const files = commandFiles(path.join(src, 'commands'));
    expect(Object.keys(COMMANDS).sort()).toEqual(Object.keys(files).sort());
    for (const [id, file] of Object.entries(files)) {
      const module = (await import(file)) as { default: unknown };
      expect(COMMANDS[id], `${pkg} ${id}`).toBe(module.default);
    }
  });

  it.each(PACKAGES)("%s's package.json points oclif at the registry", (pkg) => {
    const pjson = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'packages', pkg, 'package.json'), 'utf8'));
    expect(pjson.oclif.commands).toEqual({
      strategy: 'explicit',
      target: './dist/registry.js',
      identifier: 'COMMANDS',
    });
  });
});
