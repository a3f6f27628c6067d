import { Flags } from '@oclif/core';
import { assertPathSafeId, type IdKind } from '@dx/core/ids';

/** A wave id names the wave's directory, so it is held to the beads id's rule, and named as a wave id. */
const WAVE_ID: IdKind = { name: 'wave id', reasonCode: 'invalid_wave_id', nextAction: 'pass_a_wave_id_like_wave-42' };

export function assertWaveId(id: string): string {
  return assertPathSafeId(id, WAVE_ID);
}

/** `--wave-id`: refused as it parses when it could not be a directory name (invalid_wave_id). */
export const waveIdFlag = Flags.custom<string>({ helpValue: '<id>', parse: async (input) => assertWaveId(input) });
