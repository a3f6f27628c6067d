import type { StopOutput } from '@dx/core';
import { beadsArg, beadsFlag, DxCommand, exitCodesHelp, hostFlag, jobBeads } from '@dx/cli-kit';

export default class Stop extends DxCommand<StopOutput> {
  static override summary = 'stop a running job and its whole process group';
  static override description = `Asks the job's watcher to end the agent's process group (SIGTERM, then SIGKILL after
DX_RUNNER_KILL_GRACE_SEC), children included; the outcome records state killed, reason manual_stop.
Only processes proven to be this job's (pid + start time) are signalled. On a file system full to
the last byte, the job's lock takes the state root's reserve (.reserve), so a job can still be stopped.
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> stop bd-xxx',
    '<%= config.bin %> stop --beads bd-xxx',
    '<%= config.bin %> kill bd-xxx',
  ];
  /** `kill`: the name smoke tests and older scripts clean up with. */
  static override aliases = ['kill'];
  static override args = { beads: beadsArg() };
  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
  };

  async run(): Promise<StopOutput> {
    const { args, flags } = await this.parse(Stop);
    const beads = jobBeads(args.beads, flags.beads);
    const core = await this.core();
    const result = await core.stopJob(await this.stateRoot(false), beads);
    this.out(`stopped beads=${result.beads} reason_code=${result.reason_code}`);
    return result;
  }
}
