#!/usr/bin/env node
import { launch } from '@dx/cli-kit/launch';

// oclif and the commands in one file, built by `npm ci` (scripts/bundle-bins.mjs)
await launch(import.meta.url, { bundle: '../dist/bundle/run.js' });
