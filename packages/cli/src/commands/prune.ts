import type { PruneOutput } from '@dx/core';
import { beadsFlag, DxCommand, exitCodesHelp } from '@dx/cli-kit';

export default class Prune extends DxCommand<PruneOutput> {
  static override summary = 'clean up dead, invalid and ghost job records';
  static override description = `Finalizes jobs whose watcher died (ending an orphaned agent only after proving by pid and
start time that it is ours), removes invalid or stale pid files, leftover per-job temp dirs and locks
held by dead processes. Corrupt state files are reported and left in place.
${exitCodesHelp([0, 1, 2, 22])}`;

  static override examples = ['<%= config.bin %> prune', '<%= config.bin %> prune --beads bd-xxx --json'];
  static override flags = { beads: beadsFlag() };

  async run(): Promise<PruneOutput> {
    const { flags } = await this.parse(Prune);
    const core = await this.core();
    if (flags.beads) core.assertBeadsId(flags.beads);
    const result = await core.pruneJobs(await this.stateRoot(false), flags.beads);
    for (const a of result.actions) this.out(`${a.action} beads=${a.beads} provider=${a.provider}: ${a.detail}`);
    this.out(`prune: checked=${result.checked} pruned=${result.pruned}`);
    return result;
  }
}
