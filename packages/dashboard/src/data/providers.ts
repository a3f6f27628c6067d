import fs from 'node:fs';
import path from 'node:path';
import { listProviderDirs, readOutcomeFile, type OutcomeRecord } from '@dx/core';
import type { ProvidersResponse, ProviderWindow } from '../schemas.js';

const DAY_MS = 24 * 60 * 60 * 1000;
type Verdict = 'success' | 'no_op' | 'error' | 'rate_limited';

function verdictOf(o: OutcomeRecord): Verdict {
  if (o.failure_class === 'rate_limited' || o.reason_code.includes('rate_limit')) return 'rate_limited';
  if (o.state === 'success') return 'success';
  if (o.state === 'no_op') return 'no_op';
  return 'error';
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function windowOf(outcomes: OutcomeRecord[]): ProviderWindow {
  const w: ProviderWindow = {
    jobs: outcomes.length,
    success: 0,
    no_op: 0,
    error: 0,
    rate_limited: 0,
    median_duration_sec: median(outcomes.map((o) => o.duration_sec)),
    tokens_input: 0,
    tokens_output: 0,
    cost_usd: null,
  };
  for (const o of outcomes) {
    w[verdictOf(o)]++;
    w.tokens_input += o.tokens_input ?? 0;
    w.tokens_output += o.tokens_output ?? 0;
    // no cost at all (the provider reports none) stays null rather than a misleading $0
    if (o.cost_usd !== undefined) w.cost_usd = (w.cost_usd ?? 0) + o.cost_usd;
  }
  if (w.cost_usd !== null) w.cost_usd = Math.round(w.cost_usd * 1e6) / 1e6;
  return w;
}

const OUTCOME_FILE = /\.outcome(\.\d+)?$/;

/**
 * Per provider, every finished run of the last 7 days: current and rotated outcome files (each
 * restart's run counts). Parsed files are remembered by size and mtime, so a change re-reads only
 * the outcomes that changed.
 */
export class ProviderStats {
  private readonly parsed = new Map<string, { key: string; outcome: OutcomeRecord | null }>();

  constructor(private readonly root: string | undefined) {}

  private outcomes(provider: string): OutcomeRecord[] {
    const dir = path.join(this.root!, provider);
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return [];
    }
    const found: OutcomeRecord[] = [];
    for (const name of names) {
      if (!OUTCOME_FILE.test(name) || name.startsWith('.')) continue;
      const file = path.join(dir, name);
      let st: fs.Stats;
      try {
        st = fs.statSync(file);
      } catch {
        continue;
      }
      const key = `${st.size}:${st.mtimeMs}`;
      let entry = this.parsed.get(file);
      if (entry?.key !== key) {
        const outcome = readOutcomeFile(file) ?? null;
        entry = { key, outcome };
        this.parsed.set(file, entry);
      }
      if (entry.outcome) found.push(entry.outcome);
    }
    return found;
  }

  compute(now = Date.now()): ProvidersResponse {
    const providers: ProvidersResponse['providers'] = [];
    const today = Math.floor(now / DAY_MS);
    for (const provider of this.root ? listProviderDirs(this.root) : []) {
      const all = this.outcomes(provider).filter((o) => now - Date.parse(o.completed_at) <= 7 * DAY_MS);
      const daily = Array.from({ length: 7 }, (_, i) => ({
        day: new Date((today - 6 + i) * DAY_MS).toISOString().slice(0, 10),
        success: 0,
        no_op: 0,
        error: 0,
        rate_limited: 0,
      }));
      for (const o of all) {
        const index = Math.floor(Date.parse(o.completed_at) / DAY_MS) - (today - 6);
        if (index >= 0 && index < 7) daily[index][verdictOf(o)]++;
      }
      providers.push({
        provider,
        last_24h: windowOf(all.filter((o) => now - Date.parse(o.completed_at) <= DAY_MS)),
        last_7d: windowOf(all),
        daily,
      });
    }
    return { generated_at: new Date(now).toISOString(), providers };
  }
}
