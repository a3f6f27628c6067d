#!/usr/bin/env node
import { runCcGlmJob } from '../dist/cc-glm-job/main.js';

process.exitCode = await runCcGlmJob(process.argv.slice(2), process.env);
