import type { Hook } from '@oclif/core';
import { JSON_CONTRACT_VERSION } from '@dx/core/contract';
import { nextActionText } from '@dx/core/next-actions';
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
  const { bin } = this.config;
  const [message, reason] = id.startsWith('-')
    ? [`flags go after the command: "${id}" came first (${bin} <command> ${id} …); see ${bin} --help`, 'usage']
    : known > 0
      ? [
          `unexpected argument "${words.slice(known).join(' ')}": ${bin} ${command} takes none; see ${bin} ${command} --help`,
          'usage',
        ]
      : [`unknown command "${words.join(' ')}"; see ${bin} --help`, 'unknown_command'];
  if (id === '--json' || argv?.includes('--json')) {
    // the error document every --json failure prints (ErrorOutputSchema)
    const next = 'see_--help';
    const error = {
      error: {
        message,
        exit_code: USAGE_EXIT_CODE,
        reason_code: reason,
        next_action: next,
        next_action_text: nextActionText(next),
      },
      json_contract_version: JSON_CONTRACT_VERSION,
    };
    process.stdout.write(`${JSON.stringify(error, null, 2)}\n`);
  } else {
    process.stderr.write(`Error: ${message} (reason_code=${reason})\n`);
  }
  process.exitCode = USAGE_EXIT_CODE;
  return undefined;
};

export default hook;
