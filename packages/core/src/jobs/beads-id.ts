import { DxError, ExitCode } from '../errors.js';
import { JOB_FILE_SUFFIXES } from '../state/layout.js';

export const BEADS_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Endings that would make one job's file names another's: when suffix `.watcher.log` ends with
 * suffix `.log`, job `X.watcher` would write its log into job X's watcher log. Derived from the
 * suffix list, so a new suffix is covered without anyone remembering to.
 */
export const ALIASING_ENDINGS: readonly string[] = [
  ...new Set(
    JOB_FILE_SUFFIXES.flatMap((long) =>
      JOB_FILE_SUFFIXES.filter((short) => long !== short && long.endsWith(short)).map((short) =>
        long.slice(0, -short.length),
      ),
    ),
  ),
];

export function aliasingEnding(id: string): string | undefined {
  return ALIASING_ENDINGS.find((ending) => id.endsWith(ending));
}

export function isValidBeadsId(id: string): boolean {
  return isPathSafeId(id) && aliasingEnding(id) === undefined;
}

function isPathSafeId(id: string): boolean {
  return BEADS_ID_PATTERN.test(id) && !id.includes('..');
}

/** What an id names, for the message and the error of a refused one. */
export interface IdKind {
  name: string;
  reasonCode: string;
  nextAction: string;
}

const BEADS_ID: IdKind = {
  name: 'beads id',
  reasonCode: 'invalid_beads_id',
  nextAction: 'pass_a_beads_issue_id_like_bd-abc.1',
};

function refuseId(id: string, kind: IdKind, why: string): never {
  const shown = JSON.stringify(id.length > 60 ? `${id.slice(0, 60)}…` : id);
  throw new DxError(`invalid ${kind.name} ${shown}: ${why}`, {
    exitCode: ExitCode.usage,
    reasonCode: kind.reasonCode,
    nextAction: kind.nextAction,
  });
}

/**
 * An id that becomes a file or directory name (a wave's, say) is held to the beads id's pattern, so
 * anything path-like is refused outright; the error names what the id is.
 */
export function assertPathSafeId(id: string, kind: IdKind): string {
  if (!isPathSafeId(id)) refuseId(id, kind, `must match ${BEADS_ID_PATTERN.source} and contain no ".."`);
  return id;
}

/** Beads ids become file names under the state root, so anything path-like is refused outright. */
export function assertBeadsId(id: string): string {
  assertPathSafeId(id, BEADS_ID);
  const ending = aliasingEnding(id);
  if (ending) refuseId(id, BEADS_ID, `it ends with "${ending}", which would make its files another job's`);
  return id;
}
