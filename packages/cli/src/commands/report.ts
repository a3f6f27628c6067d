import { Flags } from '@oclif/core';
import type { FleetReport, JobReport } from '@dx/core';
import { beadsArg, beadsFlag, DxCommand, exitCodesHelp, hostFlag, jobBeads } from '@dx/cli-kit';

export default class Report extends DxCommand<JobReport | FleetReport> {
  static override summary = 'report outcome, timings, retries, fallback, model, usage and evidence';
  static override description = `With --beads: one job (its latest instance across providers, plus the history of earlier
instances). Without: every recorded job. --format json prints the JSON report (same as --json).
--log-lines N adds the last N lines of the job's log to the JSON report (log_tail): one call
instead of report + logs.
${exitCodesHelp([0, 1])}`;

  static override args = { beads: beadsArg() };
  static override examples = [
    '<%= config.bin %> report bd-xxx',
    '<%= config.bin %> report --beads bd-xxx --format json',
    '<%= config.bin %> report --beads bd-xxx --format markdown',
    '<%= config.bin %> report --format markdown',
    '<%= config.bin %> report --beads bd-xxx --log-lines 200 --json',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    format: Flags.string({ description: 'output format', options: ['json', 'markdown'], default: 'markdown' }),
    'log-lines': Flags.integer({
      description: "with --beads: add the last N lines of the job's log (JSON: log_tail)",
      min: 1,
      max: 100_000,
      helpValue: '<n>',
    }),
  };

  async run(): Promise<JobReport | FleetReport> {
    const { args, flags } = await this.parse(Report);
    const beads = jobBeads(args.beads, flags.beads, false);
    const core = await this.jobReads();
    const root = await this.stateRoot(false);
    let report: JobReport | FleetReport;
    let markdown: () => string;
    if (beads) {
      const r = core.buildJobReport(core.requireJob(root, beads));
      if (flags['log-lines']) r.log_tail = core.readJobLog(root, beads, flags['log-lines']).lines;
      report = r;
      markdown = () => core.renderJobReportMarkdown(r);
    } else {
      const r = core.buildFleetReport(core.listJobs(root));
      report = r;
      markdown = () => core.renderFleetReportMarkdown(r);
    }
    if (!this.jsonEnabled()) {
      if (flags.format === 'json') this.logJson(report);
      else this.out(markdown().trimEnd());
    }
    return report;
  }
}
