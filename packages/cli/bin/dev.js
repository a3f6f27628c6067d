#!/usr/bin/env -S node --conditions=development
import { execute } from '@oclif/core';

// as bin/run.js: `--version --json` is the version command's JSON
const args = process.argv.slice(2);
const versionJson = args.length === 2 && args.includes('--version') && args.includes('--json');

await execute({ development: true, dir: import.meta.url, args: versionJson ? ['version', '--json'] : args });
