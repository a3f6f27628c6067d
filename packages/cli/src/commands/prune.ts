import { Flags } from '@oclif/core';
import type { PruneOutput } from '@dx/core';
import { beadsFlag, DxCommand, exitCodesHelp, hostFlag, policyFlag } from '@dx/cli-kit';

export default class Prune extends DxCommand<PruneOutput> {
  static override summary = 'clean up dead, invalid and ghost job records';
  static override description = `Finalizes jobs whose watcher died (ending an orphaned agent only after proving by pid and
start time that it is ours), removes invalid or stale pid files, leftover per-job temp dirs and locks
held by dead processes. Corrupt state files are reported and left in place.
With --retention (or --older-than), finished jobs past the policy's retention (retention.jobs_days,
keeping the retention.keep_last most recent) lose every file: meta, outcome, logs and their
rotations, heartbeat, prompt copy. Never a live job, never one whose owner (a dx-batch wave) still
holds it. --dry-run lists what would go and how much, and changes nothing.
A job whose files the file system will not let go (a busy mount, a tree owned by another user) is
reported (left_after_error, not_removed) and the rest are done; prune then exits 1.
On a file system full to the last byte, prune gives up the 64 KiB the state root keeps in reserve
(.reserve) to take its locks, and says so; it keeps a new reserve once there is room.
${exitCodesHelp([0, 1, 22])}`;

  static override examples = [
    '<%= config.bin %> prune',
    '<%= config.bin %> prune --beads bd-xxx --json',
    '<%= config.bin %> prune --older-than 30d --dry-run',
    '<%= config.bin %> prune --retention',
  ];
  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    retention: Flags.boolean({ description: "also remove finished jobs past the policy's retention" }),
    'older-than': Flags.string({
      description: 'remove finished jobs older than this (30d, 12h, 90m); implies --retention',
      helpValue: '<age>',
    }),
    'keep-last': Flags.integer({
      description: 'keep this many most recent finished jobs whatever their age (policy retention.keep_last)',
      min: 0,
      helpValue: '<n>',
    }),
    'dry-run': Flags.boolean({ description: 'list what retention would remove, change nothing' }),
    policy: policyFlag,
  };

  async run(): Promise<PruneOutput> {
    const { flags } = await this.parse(Prune);
    const core = await this.core();
    const byAge =
      flags.retention || flags['older-than'] !== undefined || flags['keep-last'] !== undefined || flags['dry-run'];
    const retention = byAge
      ? core.retentionOptions(await this.policy(flags.policy), {
          olderThan: flags['older-than'],
          keepLast: flags['keep-last'],
          dryRun: flags['dry-run'],
        })
      : undefined;
    const result = await core.pruneJobs(await this.stateRoot(false), flags.beads, process.env, retention);
    if (result.reserve_used)
      this.out(
        'the file system was full: prune used the room kept back in the state root (.reserve), kept again once there is room',
      );
    for (const a of result.actions) this.out(`${a.action} beads=${a.beads} provider=${a.provider}: ${a.detail}`);
    const r = result.retention;
    if (r) {
      for (const j of r.removed)
        this.out(
          `${r.dry_run ? 'would_remove' : 'removed'} beads=${j.beads} provider=${j.provider} completed_at=${j.completed_at} files=${j.files} bytes=${j.bytes}`,
        );
      for (const j of r.not_removed) this.out(`not_removed beads=${j.beads} provider=${j.provider}: ${j.error}`);
      this.out(
        `retention: ${r.dry_run ? 'would free' : 'freed'} ${r.bytes_freed} bytes in ${r.removed.length} job(s); kept live=${r.kept.live} held=${r.kept.held} recent=${r.kept.recent} unfinished=${r.kept.unfinished}`,
      );
    }
    if (!r?.dry_run) this.out(`prune: checked=${result.checked} pruned=${result.pruned}`);
    // what could not be cleaned up is left for the next prune; a cron job must still notice
    if (core.pruneLeftErrors(result)) process.exitCode = core.ExitCode.general;
    return result;
  }
}
