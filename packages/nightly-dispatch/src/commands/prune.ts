import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp, policyFlag } from '@dx/cli-kit';
import type { NightlyPruneOutput } from '../schemas.js';

export default class Prune extends DxCommand<NightlyPruneOutput> {
  static override summary = 'remove morning reports past the retention policy';
  static override description = `Removes morning reports (reports/<run-id>.md and .json) older than --older-than (policy
retention.nights_days, default 90 days), keeping the retention.keep_last most recent; latest.* stays.
The nightly run does this once a day by itself, together with dx-runner prune --retention.
A report the file system will not let go is reported (not_removed) and the others are removed;
prune then exits 1. --dry-run lists what would go and how much.
${exitCodesHelp([0, 1])}`;

  static override examples = ['<%= config.bin %> prune --dry-run', '<%= config.bin %> prune --older-than 30d'];
  static override flags = {
    'older-than': Flags.string({ description: 'remove reports older than this (90d, 12h)', helpValue: '<age>' }),
    'keep-last': Flags.integer({
      description: 'keep this many most recent reports whatever their age',
      min: 0,
      helpValue: '<n>',
    }),
    'dry-run': Flags.boolean({ description: 'list what would be removed, change nothing' }),
    policy: policyFlag,
  };

  async run(): Promise<NightlyPruneOutput> {
    const { flags } = await this.parse(Prune);
    const core = await this.core();
    const { openNightlyRoot } = await import('../config/config.js');
    const { pruneReports } = await import('../reports/retention.js');
    const policy = await this.policy(flags.policy);
    const options = core.retentionOptions(policy, {
      days: policy.retention.nightsDays,
      olderThan: flags['older-than'],
      keepLast: flags['keep-last'],
      dryRun: flags['dry-run'],
    });
    const result = pruneReports(openNightlyRoot(process.env), options);
    for (const r of result.removed)
      this.out(`${result.dry_run ? 'would_remove' : 'removed'} report=${r.run_id} files=${r.files} bytes=${r.bytes}`);
    for (const r of result.not_removed) this.out(`not_removed report=${r.run_id}: ${r.error}`);
    this.out(
      `prune: ${result.dry_run ? 'would free' : 'freed'} ${result.bytes_freed} bytes in ${result.removed.length} report(s); kept ${result.kept}`,
    );
    // what could not be removed stays for the next prune; a cron job must still notice
    if (result.not_removed.length > 0) process.exitCode = 1;
    return result;
  }
}
