import type { BeadsIdsOutput } from '@dx/core';
import { DxCommand, exitCodesHelp } from '@dx/cli-kit';

export default class CompletionBeadsIds extends DxCommand<BeadsIdsOutput> {
  static override hidden = true;
  static override summary = 'the beads ids of recorded jobs, one per line (what --beads completes to)';
  static override description = `Called by the completion scripts when Tab is pressed after --beads. Reads directory names only.
${exitCodesHelp([0])}`;

  async run(): Promise<BeadsIdsOutput> {
    await this.parse(CompletionBeadsIds);
    const core = await this.core();
    const beads = core.listRecordedBeadsIds(await this.stateRoot(false));
    if (!this.jsonEnabled() && beads.length > 0) this.out(beads.join('\n'));
    return { beads };
  }
}
