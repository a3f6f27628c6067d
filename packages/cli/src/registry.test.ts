import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from './registry.js';

const commandsDir = path.join(import.meta.dirname, 'commands');

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

describe('the command registry (oclif explicit discovery)', () => {
  it('lists every command module under its id, and nothing else', async () => {
    const files = commandFiles(commandsDir);
    expect(Object.keys(COMMANDS).sort()).toEqual(Object.keys(files).sort());
    for (const [id, file] of Object.entries(files)) {
      const module = (await import(file)) as { default: unknown };
      expect(COMMANDS[id as keyof typeof COMMANDS], id).toBe(module.default);
    }
  });
});
