import { Flags } from '@oclif/core';
import type { LogsOutput } from '@dx/core';
import { beadsArg, beadsFlag, DxCommand, exitCodesHelp, hostFlag, jobBeads } from '@dx/cli-kit';

export default class Logs extends DxCommand<LogsOutput> {
  static override summary = "print the tail of a job's agent log";
  static override description = `The log holds the provider CLI's own stdout and stderr (secrets redacted).
${exitCodesHelp([0, 1])}`;

  static override examples = ['<%= config.bin %> logs bd-xxx', '<%= config.bin %> logs --beads bd-xxx --lines 50'];
  static override args = { beads: beadsArg() };
  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    lines: Flags.integer({ description: 'number of lines', default: 20, min: 1, max: 100_000, helpValue: '<n>' }),
  };

  async run(): Promise<LogsOutput> {
    const { args, flags } = await this.parse(Logs);
    const beads = jobBeads(args.beads, flags.beads);
    const core = await this.jobReads();
    const result = core.readJobLog(await this.stateRoot(false), beads, flags.lines);
    if (result.cut && !this.jsonEnabled())
      process.stderr.write(
        `note: this log was cut to stay under limits.max_log_mb${result.bytes_dropped ? ` (${result.bytes_dropped} bytes dropped between its beginning and its end)` : ''}\n`,
      );
    for (const line of result.lines) this.out(line);
    return result;
  }
}
