import { isDxError } from '../errors.js';
import { exitCodeForState } from '../health/states.js';
import { JobEndEvents, type JobEndWatch } from '../jobs/file-events.js';
import { readJobLog } from '../jobs/logs.js';
import { requireJob } from '../jobs/store.js';
import { jobStatus, jobsWithProcesses, jobViewsOf, toJobView } from '../jobs/view.js';
import { buildJobReport } from '../reports/report.js';
import {
  CheckOutputSchema,
  JobReportSchema,
  LogsOutputSchema,
  StatusOutputSchema,
  type CheckOutput,
  type JobReport,
  type LogsOutput,
  type StatusOutput,
} from '../schemas/outputs.js';
import { JobViewSchema } from '../schemas/job-view.js';
import { Redactor } from '../secrets/redact.js';
import { openStateRoot, stateRootPath } from '../state/root.js';
import { DxRunnerError } from './dx-runner-client.js';

/**
 * The client's read-only calls (check, status, status of a list, report, logs) answered in this process from
 * this machine's state root: the same core functions, redaction and schemas as `dx-runner … --json`,
 * without a Node process per call. A wave polls and reads evidence many times per item; only
 * commands that act (start, stop, preflight) still go through dx-runner itself. Use it only when the
 * dx-runner the client would run is this toolkit's own (same state layout, same version).
 */
export class LocalReads {
  private readonly redactor: Redactor;

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {
    this.redactor = Redactor.fromEnv([env]);
  }

  check(beads: string): { exitCode: number; view: CheckOutput } {
    return this.answer(['check', '--beads', beads], () => {
      const view = CheckOutputSchema.parse(this.clean(toJobView(requireJob(this.root(), beads))));
      return { exitCode: exitCodeForState(view.state), view };
    });
  }

  checkMany(beadsIds: readonly string[]): { jobs: CheckOutput[]; missing: string[] } {
    return this.answer(['status', '--beads', beadsIds.join(',')], () => {
      const { jobs, missing } = jobViewsOf(this.root(), beadsIds);
      return { jobs: jobs.map((j) => CheckOutputSchema.parse(this.clean(j))), missing };
    });
  }

  status(recent = 0): StatusOutput {
    return this.answer(['status', '--recent', String(recent)], () => {
      const { live, recent: finished } = jobStatus(this.root(), { recent });
      return StatusOutputSchema.parse(
        this.clean({
          generated_at: new Date().toISOString(),
          state_dir: stateRootPath(this.env),
          jobs: [...live, ...finished],
        }),
      );
    });
  }

  /** `status`'s rows of the jobs with a live process, without reading any finished job (see jobsWithProcesses). */
  jobsWithProcesses(): StatusOutput['jobs'] {
    return this.answer(['status'], () => jobsWithProcesses(this.root()).map((j) => JobViewSchema.parse(this.clean(j))));
  }

  report(beads: string, logLines?: number): JobReport {
    return this.answer(['report', '--beads', beads], () => {
      const report = buildJobReport(requireJob(this.root(), beads), this.redactor);
      if (logLines) report.log_tail = readJobLog(this.root(), beads, logLines).lines;
      return JobReportSchema.parse(this.clean(report));
    });
  }

  logs(beads: string, lines: number): LogsOutput {
    return this.answer(['logs', '--beads', beads, '--lines', String(lines)], () =>
      LogsOutputSchema.parse(this.clean(readJobLog(this.root(), beads, lines))),
    );
  }

  /**
   * File events of jobs ending in this machine's state root; it may not exist yet (a first wave):
   * its provider directories are taken up by `refresh` once they do.
   */
  watchJobEnds(onEnd: (beads: string | null) => void): JobEndWatch {
    return new JobEndEvents(stateRootPath(this.env), onEnd);
  }

  private root(): string | undefined {
    return openStateRoot({ env: this.env, create: false });
  }

  private clean<T>(value: T): T {
    return this.redactor.redactDeep(value);
  }

  private answer<T>(args: string[], read: () => T): T {
    try {
      return read();
    } catch (err) {
      throw asDxRunnerError(err, args);
    }
  }
}

/**
 * An error of a call answered in-process, as dx-runner's JSON would have carried it: its own errors keep
 * their exit code and reason; anything unexpected is `internal_error` (exit 1), never a crash of the caller.
 */
export function asDxRunnerError(err: unknown, args: string[]): DxRunnerError {
  const full = [...args, '--json'];
  if (isDxError(err)) return new DxRunnerError(err.message, err.exitCode, err.reasonCode, err.nextAction ?? null, full);
  return new DxRunnerError((err as Error)?.message ?? String(err), 1, 'internal_error', null, full);
}
