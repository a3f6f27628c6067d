import type { RestartOutput } from '@dx/core';
import { beadsArg, beadsFlag, DxCommand, exitCodesHelp, hostFlag, jobBeads, policyFlag } from '@dx/cli-kit';

export default class Restart extends DxCommand<RestartOutput> {
  static override summary = 'relaunch a job with the same prompt, worktree and model';
  static override description = `Stops the current instance if it still runs, rotates its log and outcome (<beads>.log.N),
keeps its metadata, and launches the next instance; retries counts restarts. The worktree gate and
the provider's concurrency cap apply again, and with --policy the policy's worktree rules and
allowed models: what refuses the relaunch is checked before the running instance is stopped.
${exitCodesHelp([0, 1, 20, 21, 22, 25])}`;

  static override examples = ['<%= config.bin %> restart bd-xxx', '<%= config.bin %> restart --beads bd-xxx'];
  static override args = { beads: beadsArg() };
  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    policy: policyFlag,
  };

  async run(): Promise<RestartOutput> {
    const { args, flags } = await this.parse(Restart);
    const beads = jobBeads(args.beads, flags.beads);
    const core = await this.core();
    const root = await this.stateRoot(false);
    // the next instance's watcher boots while the current instance is stopped
    const { prespawnWatcher } = await import('@dx/core/prespawn');
    const watcher = prespawnWatcher();
    const settleInterrupt = this.deferInterruptsOnceHandedOver(watcher);
    try {
      const result = await core.restartJob(root, beads, {
        registry: await this.providers(),
        policy: await this.policy(flags.policy),
        version: this.config.version,
        watcher,
      });
      this.out(`restarted beads=${result.beads} provider=${result.provider} pid=${result.pid} retry=${result.retries}`);
      settleInterrupt(result.beads);
      return result;
    } finally {
      watcher.cancel();
    }
  }
}
