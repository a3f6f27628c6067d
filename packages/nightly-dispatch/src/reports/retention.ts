import fs from 'node:fs';
import type { RetentionOptions } from '@dx/core';
import type { NightlyPruneOutput } from '../schemas.js';
import { reportRuns } from './morning.js';

/** Remove morning reports older than the limit, beyond the `keepLast` most recent (latest.* always stays). */
export function pruneReports(root: string, options: RetentionOptions): NightlyPruneOutput {
  const result: NightlyPruneOutput = {
    dry_run: options.dryRun,
    older_than_sec: Math.round(options.olderThanMs / 1000),
    keep_last: options.keepLast,
    removed: [],
    kept: 0,
    bytes_freed: 0,
    not_removed: [],
  };
  const now = options.now ?? Date.now();
  const runs = reportRuns(root).sort((a, b) => b.time - a.time);
  for (const [index, run] of runs.entries()) {
    if (index < options.keepLast || now - run.time < options.olderThanMs) {
      result.kept++;
      continue;
    }
    // a file another prune removed meanwhile (the night's own daily pass and a manual one) is gone already
    const bytes = run.files.reduce((n, f) => n + (fs.statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
    if (!options.dryRun) {
      try {
        for (const f of run.files) fs.rmSync(f, { force: true });
      } catch (err) {
        // one report the file system will not let go must not keep every other one
        result.not_removed.push({ run_id: run.runId, error: (err as Error).message });
        continue;
      }
    }
    result.removed.push({ run_id: run.runId, files: run.files.length, bytes });
    result.bytes_freed += bytes;
  }
  return result;
}
