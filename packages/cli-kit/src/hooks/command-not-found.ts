import type { Hook } from '@oclif/core';
import { USAGE_EXIT_CODE } from '../usage.js';

/**
 * An unknown command is a usage error like a bad flag: one line on stderr (or the JSON error object
 * under --json) with a reason code, and the usage exit code, in every bin of the toolkit.
 */
const hook: Hook<'command_not_found'> = async function ({ id, argv }) {
  const message = `unknown command "${id.replace(/:/g, ' ')}"; see ${this.config.bin} --help`;
  if (argv?.includes('--json')) {
    const error = { error: { message, exit_code: USAGE_EXIT_CODE, reason_code: 'unknown_command', next_action: `run_${this.config.bin}_--help` } };
    process.stdout.write(`${JSON.stringify(error, null, 2)}\n`);
  } else {
    process.stderr.write(`Error: ${message} (reason_code=unknown_command)\n`);
  }
  process.exitCode = USAGE_EXIT_CODE;
  return undefined;
};

export default hook;
