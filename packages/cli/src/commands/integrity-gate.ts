import { Flags } from '@oclif/core';
import type { IntegrityGateOutput } from '@dx/core';
import { renderGate } from '../render/gate.js';
import { beadsFlag, DxCommand, exitCodesHelp, hostFlag } from '@dx/cli-kit';

export default class IntegrityGate extends DxCommand<IntegrityGateOutput> {
  static override summary = 'check that the commit an agent reports exists and descends from the job base';
  static override description = `The reported commit (--reported-commit, else the job's last commit) must exist, be in HEAD's
history and descend from the base (--base, else the job's start commit). Reasons: integrity_ok,
reported_commit_not_found, reported_not_ancestor, reported_commit_missing, worktree_missing,
not_a_git_repo.
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> integrity-gate --beads bd-xxx --reported-commit 9e1f0aa',
    '<%= config.bin %> integrity-gate --worktree . --reported-commit 9e1f0aa --base 4f2a9c1 --json',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    worktree: Flags.string({ description: 'git worktree to check', helpValue: '<dir>' }),
    'reported-commit': Flags.string({
      description: 'commit SHA the agent reported (default: the job’s last commit)',
      helpValue: '<sha>',
    }),
    base: Flags.string({
      description: 'commit the reported one must descend from (default: the job’s start commit)',
      helpValue: '<sha>',
    }),
  };

  async run(): Promise<IntegrityGateOutput> {
    const { flags } = await this.parse(IntegrityGate);
    const core = await this.core();
    const result = await core.integrityGate({
      root: await this.stateRoot(false),
      beads: flags.beads,
      worktree: flags.worktree,
      reportedCommit: flags['reported-commit'],
      base: flags.base,
    });
    process.exitCode = result.passed ? 0 : 1;
    this.out(
      renderGate('Integrity Gate', result, [
        ['worktree', result.worktree],
        ['head', result.head],
        ['base', result.base],
        ['reported', result.reported],
      ]),
    );
    return result;
  }
}
