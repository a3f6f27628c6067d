import { Flags } from '@oclif/core';
import type { ReleaseOutput } from '@dx/core';
import { DxCommand, exitCodesHelp, hostFlag } from '@dx/cli-kit';

export default class Release extends DxCommand<ReleaseOutput> {
  static override summary = "release an owner's hold on its jobs, so retention may remove them";
  static override description = `A job started with --owner <tool>:<id> (dx-batch waves do this) is held: retention
(prune --retention, the watchdog's daily pass) never removes it while its owner holds it, so a
paused wave resumed later finds every job it ran. The owner releases the hold when its work is
over; status --disk lists the holds.
${exitCodesHelp([0, 1])}`;

  static override examples = ['<%= config.bin %> release --owner dx-batch:wave-20261124-101500'];
  static override flags = {
    host: hostFlag,
    owner: Flags.string({
      description: 'the owner, as given to start --owner',
      required: true,
      helpValue: '<tool:id>',
    }),
  };

  async run(): Promise<ReleaseOutput> {
    const { flags } = await this.parse(Release);
    const core = await this.core();
    core.assertOwner(flags.owner);
    const released = core.releaseHold(await this.stateRoot(false), flags.owner);
    this.out(released ? `released ${flags.owner}` : `no hold for ${flags.owner}`);
    return { owner: flags.owner, released };
  }
}
