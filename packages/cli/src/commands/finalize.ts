import { Flags } from '@oclif/core';
import type { FinalizeOutput } from '@dx/core';
import { beadsArg, beadsFlag, DxCommand, exitCodesHelp, hostFlag, jobBeads } from '@dx/cli-kit';

export default class Finalize extends DxCommand<FinalizeOutput> {
  static override summary = 'force-finalize a stuck job with a reason and exit code';
  static override description = `Ends the job's process group if it still runs and records an outcome with the given reason
and exit code. A job that already has an outcome keeps it (finalized=false). A job whose record
cannot prove which processes are its own (identity_unproven) is refused; after ending its processes
yourself, --no-signal records the outcome without signalling anything.
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> finalize bd-xxx',
    '<%= config.bin %> finalize --beads bd-xxx --reason stalled --exit-code 1',
  ];
  static override args = { beads: beadsArg() };

  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    reason: Flags.string({ description: 'reason code to record', default: 'forced_finalization', helpValue: '<code>' }),
    'exit-code': Flags.integer({ description: 'exit code to record', default: 1, min: 0, max: 255, helpValue: '<n>' }),
    'no-signal': Flags.boolean({
      description: 'record the outcome without signalling any process (you ended them yourself)',
    }),
  };

  async run(): Promise<FinalizeOutput> {
    const { args, flags } = await this.parse(Finalize);
    const beads = jobBeads(args.beads, flags.beads);
    const core = await this.core();
    if (!/^[a-z0-9][a-z0-9_.:-]{0,99}$/i.test(flags.reason)) {
      throw new core.DxError(`invalid --reason "${flags.reason}": use letters, digits and _ . : -`, {
        exitCode: core.ExitCode.usage,
        reasonCode: 'invalid_reason',
      });
    }
    const result = await core.finalizeJob(
      await this.stateRoot(false),
      beads,
      flags.reason,
      flags['exit-code'],
      process.env,
      { noSignal: flags['no-signal'] },
    );
    this.out(
      result.finalized
        ? `force_finalized beads=${result.beads} reason=${result.reason_code} exit_code=${result.exit_code}`
        : `already_finalized beads=${result.beads} reason=${result.reason_code} exit_code=${result.exit_code}`,
    );
    return result;
  }
}
