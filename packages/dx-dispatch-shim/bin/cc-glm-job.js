#!/usr/bin/env node
import { dropOutputToClosedPipes } from '@dx/core/output';
import { runCcGlmJob } from '../dist/cc-glm-job/main.js';
import { reportError } from '../dist/forward/forward.js';

dropOutputToClosedPipes();
process.exitCode = await runCcGlmJob(process.argv.slice(2), process.env).catch((err) => reportError(err, process.env));
