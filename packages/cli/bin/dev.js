#!/usr/bin/env -S node --conditions=development --import tsx
import { launch } from '@dx/cli-kit/launch';

// as bin/run.js: `--version --json` is the version command's JSON
const args = process.argv.slice(2);
const versionJson = args.length === 2 && args.includes('--version') && args.includes('--json');

await launch(import.meta.url, { development: true, args: versionJson ? ['version', '--json'] : args });
