#!/usr/bin/env node
// The legacy form carries the task in argv ("dx-dispatch <vm> '<task>'"): read it, then blank this
// process's command line, which every user on the host can read for as long as --wait runs.
const argv = process.argv.slice(2);
process.title = 'dx-dispatch';
const { dropOutputToClosedPipes } = await import('@dx/core/output');
const { runDxDispatch } = await import('../dist/dispatch/main.js');
const { reportError } = await import('../dist/forward/forward.js');

dropOutputToClosedPipes();
process.exitCode = await runDxDispatch(argv, process.env).catch((err) => reportError(err, process.env));
