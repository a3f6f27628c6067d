#!/usr/bin/env node
import { runDxDispatch } from '../dist/dispatch/main.js';

process.exitCode = await runDxDispatch(process.argv.slice(2), process.env);
