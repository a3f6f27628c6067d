import { ExitCode } from '@dx/core/exit-codes';

/**
 * The exit code of a usage error (bad flag or argument, unknown command) in every bin: 1, never 2,
 * which `check` uses for a stalled job.
 */
export const USAGE_EXIT_CODE = ExitCode.usage;

/**
 * The oclif parser's error classes, mapped to the usage exit code through package.json
 * `oclif.exitCodes` in every bin (see packages/cli/package.json).
 */
export const OCLIF_USAGE_EXIT_CODES = {
  failedFlagParsing: USAGE_EXIT_CODE,
  failedFlagValidation: USAGE_EXIT_CODE,
  invalidArgsSpec: USAGE_EXIT_CODE,
  nonExistentFlag: USAGE_EXIT_CODE,
  requiredArgs: USAGE_EXIT_CODE,
  unexpectedArgs: USAGE_EXIT_CODE,
  violatedFlagConstraint: USAGE_EXIT_CODE,
} as const;

/** oclif's flag and argument errors span several lines; operators' scripts want one. */
export function usageMessage(message: string): string {
  const text = message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(See more help|The following error occurred)/.test(l))
    .join(': ')
    .replace(/: :/g, ':');
  // an empty argument (a script's unset variable: `status "$ID"`) would otherwise be named by nothing
  return /^Unexpected arguments?:$/.test(text) ? 'Unexpected argument: "" (an empty string)' : text;
}

/** A bad value for a flag (`invalid_flag`) or any other misuse of the command line (`usage`). */
export function usageReason(message: string): 'invalid_flag' | 'usage' {
  return /^Parsing --|Expected --\S+=|to be one of|Expected an integer|greater than or equal|less than or equal|expects a value|expects one of these values/.test(
    message,
  )
    ? 'invalid_flag'
    : 'usage';
}
