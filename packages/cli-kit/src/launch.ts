import fs from 'node:fs';
import os from 'node:os';

/**
 * The line oclif prints for `--version` (its `config.userAgent`), answered without loading oclif:
 * `--version` is the call scripts make most often to see whether a tool is there at all, and oclif's
 * own start-up is most of its cost. Returns undefined when oclif must answer (anything but a bare
 * `--version`, or WSL, whose platform oclif names itself).
 */
export function fastVersionLine(binUrl: string, args: readonly string[]): string | undefined {
  if (args.length !== 1 || args[0] !== '--version') return undefined;
  if (os.release().toLowerCase().includes('microsoft')) return undefined;
  const pjson = JSON.parse(fs.readFileSync(new URL('../package.json', binUrl), 'utf8')) as {
    name: string;
    version: string;
  };
  return `${pjson.name}/${pjson.version} ${process.platform}-${process.arch} node-${process.version}`;
}

/** Runs an oclif CLI from its bin file; `args` defaults to the process's own. */
export async function launch(binUrl: string, options: { args?: string[]; development?: boolean } = {}): Promise<void> {
  const args = options.args ?? process.argv.slice(2);
  const versionLine = fastVersionLine(binUrl, args);
  if (versionLine !== undefined) {
    process.stdout.write(`${versionLine}\n`);
    return;
  }
  const { execute } = await import('@oclif/core');
  await execute({ dir: binUrl, args, development: options.development });
}
