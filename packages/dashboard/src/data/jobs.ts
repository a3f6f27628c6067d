import fs from 'node:fs';
import {
  buildJobReport,
  findLatestJob,
  JOB_FILE_SUFFIXES,
  jobLogTail,
  jobPaths,
  listJobs,
  loadJob,
  providersForBeads,
  toJobView,
  type JobSnapshot,
  type Redactor,
} from '@dx/core';
import type { JobDetail, JobRow } from '../schemas.js';
import { jobTimeline } from './timeline.js';

const LOG_TAIL_LINES = 200;

function rowOf(job: JobSnapshot, redactor: Redactor): JobRow {
  const view = toJobView(job);
  const o = job.outcome;
  const hb = job.heartbeat;
  return redactor.redactDeep({
    beads: view.beads,
    provider: view.provider,
    state: view.state,
    reason_code: view.reason_code,
    next_action: view.next_action,
    next_action_text: view.next_action_text,
    live: view.outcome_state === null,
    outcome_state: view.outcome_state,
    model: view.selected_model,
    host: view.host,
    owner: job.meta?.owner ?? null,
    started_at: view.started_at,
    completed_at: view.completed_at,
    elapsed_sec: view.elapsed_sec,
    last_event_at: view.last_event_at,
    last_event_kind: view.last_event_kind,
    tokens_input: o?.tokens_input ?? hb?.tokens_input ?? null,
    tokens_output: o?.tokens_output ?? hb?.tokens_output ?? null,
    cost_usd: o?.cost_usd ?? hb?.cost_usd ?? null,
    // the failure's summary, else what the agent said last
    summary: o?.summary ?? o?.final_text?.slice(0, 300) ?? null,
  });
}

/** Live jobs first (oldest start first, as `status` lists them), then finished ones, newest first. */
export function compareRows(a: JobRow, b: JobRow): number {
  if (a.live !== b.live) return a.live ? -1 : 1;
  if (a.live) return (a.started_at ?? '').localeCompare(b.started_at ?? '');
  return (b.completed_at ?? '').localeCompare(a.completed_at ?? '');
}

/** The beads id a state file belongs to (`bd-x.heartbeat`, `bd-x.outcome.3` → `bd-x`), if it is one. */
export function beadsOfStateFile(name: string): string | undefined {
  let best: number | undefined;
  for (const suffix of JOB_FILE_SUFFIXES) {
    const at = name.indexOf(suffix);
    if (at <= 0) continue;
    const rest = name.slice(at + suffix.length);
    // rotations (.N), set-aside corrupt copies and atomic-write temporaries all belong to the job;
    // the earliest suffix wins (`bd-x.watcher.log` is bd-x's, not a log of "bd-x.watcher")
    if ((rest === '' || rest.startsWith('.')) && (best === undefined || at < best)) best = at;
  }
  return best === undefined ? undefined : name.slice(0, best);
}

/**
 * Every job of the state root as a row, kept in memory: loaded once, then only the jobs whose files
 * changed are read again (the file watcher names them), plus the live ones on a timer because their
 * health depends on the clock (stalls) and on processes that can die without touching a file.
 */
export class JobIndex {
  private readonly rows = new Map<string, JobRow>();
  /** The run instance each row shows, so a cost is only ever given to the attempt that ran it. */
  private readonly instances = new Map<string, string | null>();

  constructor(
    private readonly root: string | undefined,
    private readonly redactor: Redactor,
  ) {}

  loadAll(): void {
    this.rows.clear();
    this.instances.clear();
    for (const job of listJobs(this.root)) this.keep(job, rowOf(job, this.redactor));
  }

  list(): JobRow[] {
    return [...this.rows.values()].sort(compareRows);
  }

  /** Read these jobs again; returns the rows that changed and the ids that no longer have a record. */
  refresh(beadsIds: Iterable<string>): { changed: JobRow[]; removed: string[] } {
    const changed: JobRow[] = [];
    const removed: string[] = [];
    for (const beads of beadsIds) {
      let job: JobSnapshot | undefined;
      try {
        job = findLatestJob(this.root, beads);
      } catch {
        continue; // half-written or unreadable this instant: the next change or tick reads it again
      }
      const before = this.rows.get(beads);
      if (!job) {
        if (before) {
          this.rows.delete(beads);
          this.instances.delete(beads);
          removed.push(beads);
        }
        continue;
      }
      const row = rowOf(job, this.redactor);
      if (!before || JSON.stringify(before) !== JSON.stringify(row)) changed.push(row);
      this.keep(job, row);
    }
    return { changed, removed };
  }

  /** Live rows read again (their health moves with the clock). */
  refreshLive(): { changed: JobRow[]; removed: string[] } {
    return this.refresh([...this.rows.values()].filter((r) => r.live).map((r) => r.beads));
  }

  private keep(job: JobSnapshot, row: JobRow): void {
    this.rows.set(row.beads, row);
    this.instances.set(row.beads, job.meta?.run_instance ?? null);
  }

  /**
   * The cost of one run of a job, for a wave's attempt: known while that run is the job's latest
   * here (an attempt that was run again, or ran on another host, has none to show).
   */
  costOf(beads: string, runInstance: string | null): number | null {
    if (runInstance === null || this.instances.get(beads) !== runInstance) return null;
    return this.rows.get(beads)?.cost_usd ?? null;
  }

  /** One job in full: the report, its timeline, the redacted log tail and the commands to act on it. */
  detail(beads: string, provider?: string): JobDetail | undefined {
    if (!this.root) return undefined;
    let job: JobSnapshot | undefined;
    if (provider) {
      const paths = jobPaths(this.root, provider, beads);
      if (!fs.existsSync(paths.meta)) return undefined;
      job = loadJob(
        paths,
        providersForBeads(this.root, beads).filter((p) => p !== provider),
      );
    } else {
      job = findLatestJob(this.root, beads);
    }
    if (!job) return undefined;
    const report = buildJobReport(job, this.redactor);
    let logTail: string[];
    try {
      // a live job's newest lines may be in its log's tail segments (a log past limits.max_log_mb)
      logTail = jobLogTail(job, LOG_TAIL_LINES).lines.map((l) => this.redactor.redact(l));
    } catch {
      logTail = []; // no log yet, or not a regular file: shown as "(no log)"
    }
    const flag = `--beads ${beads}`;
    return {
      report,
      owner: job.meta?.owner ?? null,
      timeline: jobTimeline(job, report.history, this.redactor),
      log_tail: logTail,
      commands: [
        { label: 'report', command: `dx-runner report ${flag}` },
        { label: 'log', command: `dx-runner logs ${flag} --lines 200` },
        { label: 'stop', command: `dx-runner stop ${flag}` },
        { label: 'restart', command: `dx-runner restart ${flag}` },
      ],
    };
  }
}
