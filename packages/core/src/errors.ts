export { ExitCode, EXIT_CODE_TEXT, exitCodesHelp, type ExitCodeValue } from './exit-codes.js';

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
