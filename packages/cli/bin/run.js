#!/usr/bin/env node
import { launch } from '@dx/cli-kit/launch';

// `--version --json` is the version command's JSON (oclif's own --version prints one plain line)
const args = process.argv.slice(2);
const versionJson = args.length === 2 && args.includes('--version') && args.includes('--json');

// oclif and the commands in one file, built by `npm ci` (scripts/bundle-bins.mjs)
await launch(import.meta.url, { args: versionJson ? ['version', '--json'] : args, bundle: '../dist/bundle/run.js' });
