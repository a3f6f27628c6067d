import type { Hook } from '@oclif/core';
import { USAGE_EXIT_CODE } from '../usage.js';

/**
 * An unknown command is a usage error like a bad flag: one line on stderr (or the JSON error object
 * under --json) with a reason code, and the usage exit code, in every bin of the toolkit.
 */
const hook: Hook<'command_not_found'> = async function ({ id, argv }) {
  // with spaces between topic and command, oclif folds words after a command that takes no
  // argument into the command's name: "start bd-1" arrives here as "start:bd-1"
  const words = id.split(':');
  let known = 0;
  for (let n = words.length - 1; n > 0 && known === 0; n--)
    if (this.config.findCommand(words.slice(0, n).join(':'))) known = n;
  const command = words.slice(0, known).join(' ');
  const [message, reason] =
    known > 0
      ? [
          `unexpected argument "${words.slice(known).join(' ')}": ${this.config.bin} ${command} takes none; see ${this.config.bin} ${command} --help`,
          'usage',
        ]
      : [`unknown command "${words.join(' ')}"; see ${this.config.bin} --help`, 'unknown_command'];
  if (argv?.includes('--json')) {
    const error = {
      error: { message, exit_code: USAGE_EXIT_CODE, reason_code: reason, next_action: `run_${this.config.bin}_--help` },
    };
    process.stdout.write(`${JSON.stringify(error, null, 2)}\n`);
  } else {
    process.stderr.write(`Error: ${message} (reason_code=${reason})\n`);
  }
  process.exitCode = USAGE_EXIT_CODE;
  return undefined;
};

export default hook;
