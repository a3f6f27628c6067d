import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Interfaces } from '@oclif/core';
import { dropOutputToClosedPipes } from '@dx/core/output';
import { loadBundle } from './cached-bundle.js';

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

/** What a bundled bin loads (scripts/bundle-bins.mjs): the commands and oclif's entry points, one module. */
interface BinBundle {
  run: typeof import('@oclif/core').run;
  flush: typeof import('@oclif/core').flush;
  handle: typeof import('@oclif/core').handle;
}

/**
 * A plugin's command (dashboard, sim, oclif's own plugins) runs on its package's copy of oclif, so its
 * `exit()` throws an ExitError the bundle's oclif does not recognise by class and would print as an
 * error ("EEXIT: 1"). Every oclif marks it with code EEXIT: that is enough to know it was printed.
 */
function quietForeignExit(err: unknown): unknown {
  const e = err as { code?: unknown; oclif?: { exit?: unknown }; skipOclifErrorHandling?: boolean } | undefined;
  if (e?.code === 'EEXIT' && typeof e.oclif?.exit === 'number') e.skipOclifErrorHandling = true;
  return err;
}

/**
 * Runs an oclif CLI from its bin file; `args` defaults to the process's own. With `bundle` (a path
 * relative to the bin: an ES module, or a `.cjs` one that comes with its code cache), oclif and the
 * commands come from that one bundled module: the root plugin's commands are read from the bundle's
 * `COMMANDS` instead of the package's own registry, the same commands compiled into one file.
 * Plugins keep loading as they always did.
 */
export async function launch(
  binUrl: string,
  options: { args?: string[]; development?: boolean; bundle?: string } = {},
): Promise<void> {
  const args = options.args ?? process.argv.slice(2);
  const versionLine = fastVersionLine(binUrl, args);
  if (versionLine !== undefined) {
    process.stdout.write(`${versionLine}\n`);
    return;
  }
  dropOutputToClosedPipes();
  if (options.bundle === undefined || options.development) {
    const { execute } = await import('@oclif/core');
    await execute({ dir: binUrl, args, development: options.development });
    return;
  }
  const bundleUrl = new URL(options.bundle, binUrl);
  const root = path.dirname(path.dirname(fileURLToPath(binUrl)));
  const pjson = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Interfaces.PJSON;
  pjson.oclif.commands = {
    strategy: 'explicit',
    target: `./${path.relative(root, fileURLToPath(bundleUrl))}`,
    identifier: 'COMMANDS',
  };
  // a CommonJS bundle comes with V8's code cache (see loadBundle); an ES module bundle is imported
  const oclif = (
    bundleUrl.pathname.endsWith('.cjs') ? loadBundle(fileURLToPath(bundleUrl)).exports : await import(bundleUrl.href)
  ) as BinBundle;
  // what oclif's execute() does, with foreign exits recognised
  await oclif
    .run(args, { root, pjson })
    .then(() => oclif.flush())
    .catch(async (err: Error) => oclif.handle(quietForeignExit(err) as Error));
}
