import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp, policyFlag } from '@dx/cli-kit';
import type { BatchPruneOutput } from '../schemas.js';

export default class Prune extends DxCommand<BatchPruneOutput> {
  static override summary = 'remove finished waves past the retention policy';
  static override description = `Removes waves that completed, failed or were cancelled longer ago than --older-than (policy
retention.waves_days, default 90 days), keeping the retention.keep_last most recent: their state,
prompts, ledgers, leases and job records, after releasing dx-runner's hold on their jobs (a wave
whose hold cannot be released stays for the next prune). Running, paused and pending waves are
never removed. A wave whose files the file system will not let go (files another user made) is
reported (not_removed) and the others are removed; prune then exits 1. --dry-run lists what would go
and how much.
${exitCodesHelp([0, 1])}`;

  static override examples = ['<%= config.bin %> prune --dry-run', '<%= config.bin %> prune --older-than 30d'];
  static override flags = {
    'older-than': Flags.string({ description: 'remove finished waves older than this (90d, 12h)', helpValue: '<age>' }),
    'keep-last': Flags.integer({
      description: 'keep this many most recent finished waves whatever their age',
      min: 0,
      helpValue: '<n>',
    }),
    'dry-run': Flags.boolean({ description: 'list what would be removed, change nothing' }),
    policy: policyFlag,
  };

  async run(): Promise<BatchPruneOutput> {
    const { flags } = await this.parse(Prune);
    const core = await this.core();
    const { waveDeps } = await import('../deps.js');
    const { pruneWaves } = await import('../waves/retention.js');
    const deps = waveDeps({ policyFile: flags.policy, silent: true, create: false });
    const policy = deps.policy;
    const options = core.retentionOptions(policy, {
      days: policy.retention.wavesDays,
      olderThan: flags['older-than'],
      keepLast: flags['keep-last'],
      dryRun: flags['dry-run'],
    });
    const { WaveHosts } = await import('../fleet/hosts.js');
    const result = await pruneWaves(deps.root, options, new WaveHosts(deps.client, policy));
    for (const w of result.removed)
      this.out(
        `${result.dry_run ? 'would_remove' : 'removed'} wave=${w.wave_id} status=${w.status} completed_at=${w.completed_at ?? '-'} bytes=${w.bytes}`,
      );
    for (const w of result.not_removed) this.out(`not_removed wave=${w.wave_id}: ${w.error}`);
    this.out(
      `prune: ${result.dry_run ? 'would free' : 'freed'} ${result.bytes_freed} bytes in ${result.removed.length} wave(s); kept unfinished=${result.kept.unfinished} recent=${result.kept.recent} unreadable=${result.kept.unreadable} hold_not_released=${result.kept.hold_not_released}`,
    );
    // what could not be removed stays for the next prune; a cron job must still notice
    if (result.not_removed.length > 0) process.exitCode = 1;
    return result;
  }
}
