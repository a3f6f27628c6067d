import path from 'node:path';
import { readJsonFileIfExists, writeFileAtomic, type DxRunnerClient } from '@dx/core';

/**
 * What the jobs nightly-dispatch started have spent, in tokens (input + output, as each job's report
 * gives them), recorded by the run that sees each job end, for the daily budget
 * (`nightly.max_tokens_per_day`). Times are this machine's (when the end was seen), so a fleet
 * host's clock never moves a job in or out of the window.
 */
interface SpendEntry {
  beads: string;
  host: string;
  /** The job's run: a run killed before it forgot the job sees it end again, and counts it once. */
  run_instance: string | null;
  at: string;
  tokens: number;
}

const SPEND_FILE = 'spend.json';
const DAY_MS = 24 * 3_600_000;

function entries(root: string, now: number): SpendEntry[] {
  const all = readJsonFileIfExists<unknown>(path.join(root, SPEND_FILE));
  return (Array.isArray(all) ? (all as SpendEntry[]) : []).filter(
    (e) => typeof e?.tokens === 'number' && now - Date.parse(e.at) < DAY_MS,
  );
}

/** Tokens the night's jobs that ended in the last 24 h spent. */
export function spentLastDay(root: string, now = Date.now()): number {
  return entries(root, now).reduce((n, e) => n + e.tokens, 0);
}

/**
 * Records what an ended job spent (its report's usage; a report that cannot be had, or a CLI that
 * reports no usage, counts for nothing) and answers it. Entries older than a day are dropped.
 */
export async function recordJobSpend(
  root: string,
  client: DxRunnerClient,
  job: { beads: string; host: string; run_instance: string | null },
  log: (line: string) => void,
  now = Date.now(),
): Promise<number> {
  const kept = entries(root, now);
  const same = (e: SpendEntry) =>
    job.run_instance !== null && e.run_instance === job.run_instance && e.beads === job.beads && e.host === job.host;
  const counted = kept.find(same);
  if (counted) return counted.tokens;
  let tokens = 0;
  try {
    const { usage } = await client.report(job.beads);
    tokens = (usage.tokens_input ?? 0) + (usage.tokens_output ?? 0);
  } catch (err) {
    log(`${job.beads} (${job.host}): its usage could not be read (${(err as Error).message}); counted as 0 tokens`);
  }
  kept.push({ ...job, at: new Date(now).toISOString(), tokens });
  writeFileAtomic(path.join(root, SPEND_FILE), `${JSON.stringify(kept)}\n`);
  return tokens;
}
