import { DxError, ExitCode } from '../errors.js';

export const BEADS_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function isValidBeadsId(id: string): boolean {
  return BEADS_ID_PATTERN.test(id) && !id.includes('..');
}

/** Beads ids become file names under the state root, so anything path-like is refused outright. */
export function assertBeadsId(id: string): string {
  if (!isValidBeadsId(id)) {
    const shown = JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}…` : id);
    throw new DxError(`invalid beads id ${shown}: must match ${BEADS_ID_PATTERN.source} and contain no ".."`, {
      exitCode: ExitCode.usage,
      reasonCode: 'invalid_beads_id',
      nextAction: 'pass_a_beads_issue_id_like_bd-abc.1',
    });
  }
  return id;
}
