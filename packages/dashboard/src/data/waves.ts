import fs from 'node:fs';
import path from 'node:path';
import type { Redactor } from '@dx/core';
import { buildWaveReport, loadWave, orchestratorOf, wavePaths, type WaveState } from '@dx/dx-batch';
import type { WaveDetail, WavesResponse, WaveSummary } from '../schemas.js';

/** The cost of an attempt's job, when that job's record is still in this machine's state root. */
export type CostLookup = (jobBeads: string, runInstance: string | null) => number | null;

const attemptKey = (jobBeads: string, runInstance: string | null) => `${jobBeads}@${runInstance ?? ''}`;

function summaryOf(state: WaveState, costOf: CostLookup): WaveSummary {
  const counts: Record<string, number> = {};
  for (const item of state.items) counts[item.status] = (counts[item.status] ?? 0) + 1;
  let cost: number | null = null;
  let tokensInput = 0;
  let tokensOutput = 0;
  for (const item of state.items)
    for (const a of item.attempts) {
      tokensInput += a.tokens_input ?? 0;
      tokensOutput += a.tokens_output ?? 0;
      const c = costOf(a.job_beads, a.run_instance);
      if (c !== null) cost = (cost ?? 0) + c;
    }
  return {
    wave_id: state.wave_id,
    status: state.status,
    created_at: state.created_at,
    started_at: state.started_at,
    completed_at: state.completed_at,
    items: state.items.length,
    counts,
    tokens_input: tokensInput,
    tokens_output: tokensOutput,
    cost_usd: cost,
  };
}

/** dx-batch's waves under its root (DX_BATCH_DIR), read with dx-batch's own loader; newest first. */
export class WaveReader {
  constructor(
    private readonly root: string,
    private readonly redactor: Redactor,
    private readonly costOf: CostLookup,
  ) {}

  waveIds(): string[] {
    try {
      return fs.readdirSync(path.join(this.root, 'waves')).filter((n) => !n.startsWith('.'));
    } catch {
      return [];
    }
  }

  list(): WavesResponse {
    const waves: WaveSummary[] = [];
    const unreadable: WavesResponse['unreadable'] = [];
    for (const id of this.waveIds()) {
      try {
        waves.push(summaryOf(loadWave(wavePaths(this.root, id)), this.costOf));
      } catch (err) {
        unreadable.push({ wave_id: id, error: (err as Error).message });
      }
    }
    waves.sort((a, b) => b.created_at.localeCompare(a.created_at));
    return this.redactor.redactDeep({ batch_dir: this.root, waves, unreadable });
  }

  detail(waveId: string): WaveDetail | undefined {
    let state: WaveState;
    const paths = wavePaths(this.root, waveId);
    try {
      state = loadWave(paths);
    } catch {
      return undefined;
    }
    const attemptCost: Record<string, number> = {};
    for (const item of state.items)
      for (const a of item.attempts) {
        const c = this.costOf(a.job_beads, a.run_instance);
        if (c !== null) attemptCost[attemptKey(a.job_beads, a.run_instance)] = c;
      }
    return this.redactor.redactDeep({
      summary: summaryOf(state, this.costOf),
      // a wave marked running that no live orchestrator holds says to resume it
      report: buildWaveReport(state, orchestratorOf(paths.lock, state.config.lease_ttl_minutes)),
      attempt_cost_usd: attemptCost,
    });
  }

  /** Live attempts of every running wave, by fleet host (for the hosts view). */
  liveAttempts(): Array<{ host: string; beads: string; provider: string; wave: string }> {
    const live: Array<{ host: string; beads: string; provider: string; wave: string }> = [];
    for (const id of this.waveIds()) {
      let state: WaveState;
      try {
        state = loadWave(wavePaths(this.root, id));
      } catch {
        continue;
      }
      if (state.status !== 'running') continue;
      for (const item of state.items)
        for (const a of item.attempts)
          if (a.completed_at === null) live.push({ host: a.host, beads: a.job_beads, provider: a.provider, wave: id });
    }
    return live;
  }
}
