import fs from 'node:fs';
import type { Redactor } from '@dx/core';
import { NightReportSchema, reportRuns, type NightReport } from '@dx/nightly-dispatch';
import type { NightDetail, NightsResponse, NightSummary } from '../schemas.js';

function summaryOf(r: NightReport): NightSummary {
  return {
    run_id: r.run_id,
    started_at: r.started_at,
    completed_at: r.completed_at,
    status: r.status,
    dry_run: r.dry_run,
    simulation: r.simulation?.name ?? null,
    provider: r.provider.selected,
    fallback: r.provider.fallback,
    counts: r.counts,
    alerts: r.alerts.length,
  };
}

/** nightly-dispatch's morning reports (`<root>/reports/<run-id>.json`), newest first. */
export class NightReader {
  constructor(
    private readonly root: string,
    private readonly redactor: Redactor,
  ) {}

  private read(file: string): NightReport {
    const parsed = NightReportSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new Error(`${file}: ${issue.path.join('.')}: ${issue.message}`);
    }
    return parsed.data;
  }

  private jsonFiles(): Array<{ runId: string; file: string }> {
    return reportRuns(this.root)
      .map((r) => ({ runId: r.runId, file: r.files.find((f) => f.endsWith('.json')) }))
      .filter((r): r is { runId: string; file: string } => r.file !== undefined)
      .sort((a, b) => b.runId.localeCompare(a.runId));
  }

  list(): NightsResponse {
    const nights: NightSummary[] = [];
    const unreadable: NightsResponse['unreadable'] = [];
    for (const { runId, file } of this.jsonFiles()) {
      try {
        nights.push(summaryOf(this.read(file)));
      } catch (err) {
        unreadable.push({ run_id: runId, error: (err as Error).message });
      }
    }
    return this.redactor.redactDeep({ nightly_dir: this.root, nights, unreadable });
  }

  detail(runId: string): NightDetail | undefined {
    const entry = this.jsonFiles().find((r) => r.runId === runId);
    if (!entry) return undefined;
    try {
      return this.redactor.redactDeep({ report: this.read(entry.file) });
    } catch {
      return undefined;
    }
  }
}
