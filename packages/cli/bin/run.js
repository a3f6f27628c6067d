#!/usr/bin/env node
import { launch } from '@dx/cli-kit/launch';

const args = process.argv.slice(2);

// `start` hands its job to a watcher process: spawn it before oclif loads, so its boot overlaps the
// whole call (`start` takes it, or cancels it; a call that never gets there leaves it to exit)
if (args[0] === 'start' && !args.some((a) => /^(--help|-h|--dry-run|--host(=.*)?)$/.test(a))) {
  const { prespawnEarly } = await import('@dx/core/prespawn');
  prespawnEarly();
}

// `--version --json` is the version command's JSON (oclif's own --version prints one plain line)
const versionJson = args.length === 2 && args.includes('--version') && args.includes('--json');

// oclif and the commands in one file, built by `npm ci` (scripts/bundle-bins.mjs)
await launch(import.meta.url, { args: versionJson ? ['version', '--json'] : args, bundle: '../dist/bundle/run.cjs' });
