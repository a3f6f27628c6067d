import type { StopOutput } from '@dx/core';
import { beadsFlag, DxCommand, exitCodesHelp } from '@dx/cli-kit';

export default class Stop extends DxCommand<StopOutput> {
  static override summary = "stop a running job and its whole process group";
  static override description = `Asks the job's watcher to end the agent's process group (SIGTERM, then SIGKILL after
DX_RUNNER_KILL_GRACE_SEC), children included; the outcome records state killed, reason manual_stop.
Only processes proven to be this job's (pid + start time) are signalled.
${exitCodesHelp([0, 1, 2])}`;

  static override examples = ['<%= config.bin %> stop --beads bd-xxx'];
  static override flags = { beads: beadsFlag({ required: true }) };

  async run(): Promise<StopOutput> {
    const { flags } = await this.parse(Stop);
    const core = await this.core();
    core.assertBeadsId(flags.beads);
    const result = await core.stopJob(await this.stateRoot(false), flags.beads);
    this.out(`stopped beads=${result.beads} reason_code=${result.reason_code}`);
    return result;
  }
}
