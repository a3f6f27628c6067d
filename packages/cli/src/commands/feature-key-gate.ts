import { Flags } from '@oclif/core';
import type { FeatureKeyGateOutput } from '@dx/core';
import { renderGate } from '../render/gate.js';
import { beadsFlag, DxCommand, exitCodesHelp, hostFlag } from '@dx/cli-kit';

export default class FeatureKeyGate extends DxCommand<FeatureKeyGateOutput> {
  static override summary = 'check every commit of the range carries the trailer Feature-Key: <beads id>';
  static override description = `Trailers are read by git itself. The range is --base..HEAD, else the job's start commit..HEAD,
else merge-base(--base-branch, HEAD)..HEAD (default base branch: origin/HEAD, main, master). Reasons:
feature_key_ok, feature_key_missing, feature_key_invalid_format, feature_key_missing_in_commits,
no_commits_in_range, base_missing, worktree_unreadable (git cannot walk the range), worktree_missing,
not_a_git_repo.
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> feature-key-gate --beads bd-xxx',
    '<%= config.bin %> feature-key-gate --worktree . --feature-key bd-xxx.2 --base-branch main --json',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    worktree: Flags.string({ description: 'git worktree to check', helpValue: '<dir>' }),
    'feature-key': Flags.string({
      description: 'the beads id every commit must carry (default: --beads)',
      helpValue: '<id>',
    }),
    base: Flags.string({ description: 'first commit of the range is after this SHA', helpValue: '<sha>' }),
    'base-branch': Flags.string({ description: 'branch to take the merge base with', helpValue: '<branch>' }),
  };

  async run(): Promise<FeatureKeyGateOutput> {
    const { flags } = await this.parse(FeatureKeyGate);
    const core = await this.core();
    const result = await core.featureKeyGate({
      root: await this.stateRoot(false),
      beads: flags.beads,
      worktree: flags.worktree,
      featureKey: flags['feature-key'],
      base: flags.base,
      baseBranch: flags['base-branch'],
    });
    process.exitCode = result.passed ? 0 : 1;
    this.out(
      renderGate('Feature-Key Gate', result, [
        ['feature_key', result.feature_key],
        ['range', result.base ? `${result.base.slice(0, 12)}..${result.head?.slice(0, 12) ?? 'HEAD'}` : null],
        ['checked', `${result.checked_commits} commits`],
        ['missing', result.missing_commits.map((s) => s.slice(0, 12))],
      ]),
    );
    return result;
  }
}
