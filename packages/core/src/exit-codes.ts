/**
 * The exit codes of every bin, and the one description of each that help texts, the generated
 * command reference and the README table use. Scripts branch on them: `check` exiting 2 means the
 * job stalled, so a typo in a command line exits 1 (reason_code usage or invalid_flag) instead.
 */
export const ExitCode = {
  success: 0,
  general: 1,
  usage: 1,
  stalled: 2,
  exitedError: 3,
  providerNotFound: 20,
  preflightFailed: 21,
  permissionDenied: 22,
  noOp: 23,
  beadsGateFailed: 24,
  modelUnavailable: 25,
  hostFailed: 26,
  waitTimedOut: 124,
  interrupted: 130,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_TEXT: Readonly<Record<number, string>> = {
  0: 'success',
  1: 'general error: bad input or usage (reason_code usage / invalid_flag), corrupt state, job not found, cap reached, worktree in use',
  2: 'job stalled',
  3: 'job exited with an error, or is blocked',
  20: 'provider not found',
  21: 'preflight failed (provider binary or credentials missing)',
  22: 'permission denied (worktree gate, unsafe state root or one inside the worktree, a state root another host claimed)',
  23: 'no-op detected',
  24: 'beads gate failed',
  25: 'model unavailable',
  26: 'fleet host failed: unreachable, auth or host key refused, other JSON contract, or no ssh client',
  124: 'timed out waiting; the job keeps running',
  130: 'interrupted (Ctrl-C)',
};

/** The EXIT CODES block of a command's --help. */
export function exitCodesHelp(codes: readonly number[]): string {
  return `\nEXIT CODES\n${codes.map((c) => `  ${String(c).padStart(3)}  ${EXIT_CODE_TEXT[c] ?? ''}`).join('\n')}`;
}
