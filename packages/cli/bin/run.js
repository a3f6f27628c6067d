#!/usr/bin/env node
import { execute } from '@oclif/core';

// `--version --json` is the version command's JSON (oclif's own --version prints one plain line)
const args = process.argv.slice(2);
const versionJson = args.length === 2 && args.includes('--version') && args.includes('--json');

await execute({ dir: import.meta.url, args: versionJson ? ['version', '--json'] : args });
