import { Flags } from '@oclif/core';
import type { DiskOutput, JobView, StatusOutput } from '@dx/core';
import {
  beadsListFlag,
  DxCommand,
  exitCodesHelp,
  formatDuration,
  hostFlag,
  positiveNumber,
  renderTable,
} from '@dx/cli-kit';

export default class Status extends DxCommand<StatusOutput | DiskOutput> {
  static override summary = 'show running jobs (and, with --recent, the latest finished ones)';
  static override description = `Lists every job that has not ended yet, each with its health state and reason. --recent N adds
the N most recently finished jobs; --beads shows one job whatever its state (several, comma-separated,
in one call: ids with no recorded job are listed under "missing" instead of failing the call). Reads state files only:
no process is spawned per job. --disk shows where the state's bytes are instead: per provider, per
kind of file, the largest jobs, the owners holding jobs, and the free space left.
${exitCodesHelp([0, 1, 22])}`;

  static override examples = [
    '<%= config.bin %> status',
    '<%= config.bin %> status --recent 10 --json',
    "<%= config.bin %> status --json | jq '.jobs[] | {beads, state, reason_code}'",
    '<%= config.bin %> status --beads bd-a,bd-b,bd-c --json',
    '<%= config.bin %> status --disk',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsListFlag(),
    recent: Flags.integer({
      description: 'also list the N most recently finished jobs',
      min: 0,
      default: 0,
      helpValue: '<n>',
    }),
    'stall-minutes': positiveNumber({ description: 'stall threshold for this view (default: as recorded at start)' }),
    disk: Flags.boolean({
      description: 'disk use of the state root instead of jobs: per provider, per kind, largest jobs, free space',
    }),
  };

  async run(): Promise<StatusOutput | DiskOutput> {
    const { flags } = await this.parse(Status);
    const core = await this.jobReads();
    const root = await this.stateRoot(false);
    if (flags.disk) {
      const disk = core.diskUsage(root, core.stateRootPath());
      if (!this.jsonEnabled()) this.renderDisk(disk);
      return disk;
    }
    const opts = { stallMinutes: flags['stall-minutes'] };
    let jobs: JobView[];
    let recent: JobView[] = [];
    let finished = 0;
    let missing: string[] | undefined;
    if (flags.beads?.length === 1) {
      jobs = [core.toJobView(core.requireJob(root, flags.beads[0]), opts)];
    } else if (flags.beads) {
      ({ jobs, missing } = core.jobViewsOf(root, flags.beads, opts));
    } else {
      ({ live: jobs, recent, finished } = core.jobStatus(root, { ...opts, recent: flags.recent }));
    }
    const result: StatusOutput = {
      generated_at: new Date().toISOString(),
      state_dir: core.stateRootPath(),
      jobs: [...jobs, ...recent],
      ...(missing ? { missing } : {}),
    };
    if (!this.jsonEnabled()) {
      this.render(jobs, recent, flags.recent, result.state_dir, finished);
      if (missing?.length) this.out(`no job recorded for: ${missing.join(', ')}`);
    }
    return result;
  }

  private renderDisk(d: DiskOutput): void {
    const mb = (n: number | null) => (n === null ? '-' : `${(n / 1024 / 1024).toFixed(1)} MB`);
    const files = typeof d.free_files === 'number' ? ` free_files=${d.free_files}` : '';
    this.out(`state_dir=${d.state_dir} total=${mb(d.total_bytes)} free=${mb(d.free_bytes)}${files}`);
    if (Object.keys(d.by_provider).length > 0)
      this.out(
        renderTable(
          ['provider', 'bytes'],
          Object.entries(d.by_provider).map(([p, n]) => [p, mb(n)]),
        ),
      );
    if (Object.keys(d.by_kind).length > 0)
      this.out(
        renderTable(
          ['kind', 'bytes'],
          Object.entries(d.by_kind).map(([k, n]) => [k, mb(n)]),
        ),
      );
    if (d.largest_jobs.length > 0)
      this.out(
        renderTable(
          ['largest jobs', 'provider', 'bytes'],
          d.largest_jobs.map((j) => [j.beads, j.provider, mb(j.bytes)]),
        ),
      );
    if (d.holds.length > 0) this.out(`held by: ${d.holds.join(', ')}`);
  }

  private render(jobs: JobView[], recent: JobView[], recentCount: number, stateDir: string, finished: number): void {
    const headers = ['beads', 'provider', 'state', 'reason', 'elapsed', 'events', 'changes', 'retry', 'pid'];
    const row = (j: JobView) => [
      j.beads,
      j.provider,
      j.state,
      j.reason_code,
      formatDuration(j.elapsed_sec),
      j.events,
      j.mutations,
      j.retries,
      j.pid,
    ];
    if (jobs.length === 0 && recent.length === 0 && finished === 0) {
      this.out(`(no jobs found in ${stateDir})`);
      return;
    }
    if (jobs.length > 0) this.out(renderTable(headers, jobs.map(row)));
    else
      this.out(
        `(no running jobs${finished > 0 && recentCount === 0 ? `; ${finished} finished, see: dx-runner status --recent ${finished}` : ''})`,
      );
    if (recentCount > 0) {
      this.out(`\n=== Recently Completed (last ${recentCount}) ===`);
      this.out(
        recent.length > 0
          ? renderTable(
              headers.slice(0, -1).concat('exit'),
              recent.map((j) => [...row(j).slice(0, -1), j.exit_code]),
            )
          : '(none)',
      );
    }
  }
}
