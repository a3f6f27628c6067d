/** Exit codes of the runbook table (SPEC §2); every command documents the ones it can return. */
export const ExitCode = {
  success: 0,
  general: 1,
  stalled: 2,
  usage: 2,
  exitedError: 3,
  providerNotFound: 20,
  preflightFailed: 21,
  permissionDenied: 22,
  noOp: 23,
  beadsGateFailed: 24,
  modelUnavailable: 25,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export const EXIT_CODE_HELP: ReadonlyArray<readonly [number, string]> = [
  [0, 'success'],
  [1, 'general error (bad input file, corrupt state, job not found, cap reached)'],
  [2, 'job stalled, or a usage error (missing/invalid flag or beads id)'],
  [3, 'job exited with an error (or is blocked)'],
  [20, 'provider not found'],
  [21, 'preflight failed'],
  [22, 'permission denied (worktree gate, unsafe state root)'],
  [23, 'no-op detected'],
  [24, 'beads gate failed'],
  [25, 'model unavailable'],
];

export interface DxErrorOptions {
  exitCode: number;
  reasonCode: string;
  nextAction?: string;
  details?: Record<string, unknown>;
}

/**
 * An expected failure with a documented exit code. The message is one line that tells the user
 * what was wrong; reason_code is the stable machine-readable name of the failure.
 */
export class DxError extends Error {
  readonly exitCode: number;
  readonly reasonCode: string;
  readonly nextAction?: string;
  readonly details?: Record<string, unknown>;

  constructor(message: string, options: DxErrorOptions) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'DxError';
    this.exitCode = options.exitCode;
    this.reasonCode = options.reasonCode;
    this.nextAction = options.nextAction;
    this.details = options.details;
  }
}

export function isDxError(err: unknown): err is DxError {
  return err instanceof DxError || (err instanceof Error && err.name === 'DxError' && 'reasonCode' in err);
}
