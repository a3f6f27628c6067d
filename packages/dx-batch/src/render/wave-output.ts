import type { WaveOutput } from '../schemas.js';
import { waveHeadline, waveTable } from '../reports/view.js';
import { waveOutput, type OrchestratorPresence } from '../reports/report.js';
import type { WaveState } from '../waves/state.js';

/** 0: every item approved; 3: the wave completed with blocked/cancelled items; 1: it did not complete. */
export function exitCodeForWave(wave: WaveState): number {
  if (wave.status !== 'completed') return 1;
  return wave.items.every((i) => i.status === 'APPROVED') ? 0 : 3;
}

export function finishWave(
  print: (text: string) => void,
  wave: WaveState,
  orchestrator: OrchestratorPresence = 'live',
): WaveOutput {
  const out = waveOutput(wave, orchestrator);
  print(waveHeadline(wave));
  print(waveTable(wave));
  print(
    `reason_code=${wave.reason_code ?? '-'} next_action=${out.next_action}  # ${out.next_action_text}${wave.error ? `\nerror: ${wave.error}` : ''}`,
  );
  return out;
}
