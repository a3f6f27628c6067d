import { Flags } from '@oclif/core';
import type { LogsOutput } from '@dx/core';
import { beadsFlag, DxCommand, exitCodesHelp } from '@dx/cli-kit';

export default class Logs extends DxCommand<LogsOutput> {
  static override summary = "print the tail of a job's agent log";
  static override description = `The log holds the provider CLI's own stdout and stderr (secrets redacted).
${exitCodesHelp([0, 1, 2])}`;

  static override examples = ['<%= config.bin %> logs --beads bd-xxx --lines 50'];
  static override flags = {
    beads: beadsFlag({ required: true }),
    lines: Flags.integer({ description: 'number of lines', default: 20, min: 1, max: 100_000, helpValue: '<n>' }),
  };

  async run(): Promise<LogsOutput> {
    const { flags } = await this.parse(Logs);
    const core = await this.core();
    core.assertBeadsId(flags.beads);
    const result = core.readJobLog(await this.stateRoot(false), flags.beads, flags.lines);
    if (result.cut && !this.jsonEnabled()) process.stderr.write(`note: this log was cut to stay under limits.max_log_mb${result.bytes_dropped ? ` (${result.bytes_dropped} bytes dropped between its beginning and its end)` : ''}\n`);
    for (const line of result.lines) this.out(line);
    return result;
  }
}
