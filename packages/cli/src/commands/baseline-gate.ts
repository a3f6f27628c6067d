import { Flags } from '@oclif/core';
import type { BaselineGateOutput } from '@dx/core';
import { renderGate } from '../render/gate.js';
import { beadsFlag, DxCommand, exitCodesHelp, hostFlag } from '@dx/cli-kit';

export default class BaselineGate extends DxCommand<BaselineGateOutput> {
  static override summary = "check that a worktree's HEAD contains a required commit";
  static override description = `Reasons: baseline_ok, baseline_not_met (HEAD does not contain it), required_baseline_missing (the
commit is not in the repository, e.g. a shallow clone), runtime_commit_missing (no HEAD),
worktree_missing, not_a_git_repo. The worktree is the job's (--beads), --worktree, or cwd's.
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> baseline-gate --beads bd-xxx --required-baseline 4f2a9c1',
    '<%= config.bin %> baseline-gate --worktree /tmp/agents/bd-xxx/repo --required-baseline 4f2a9c1 --json',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    worktree: Flags.string({
      description: 'git worktree to check (default: the job’s with --beads, else cwd)',
      helpValue: '<dir>',
    }),
    'required-baseline': Flags.string({
      description: 'commit SHA HEAD must contain',
      required: true,
      helpValue: '<sha>',
    }),
  };

  async run(): Promise<BaselineGateOutput> {
    const { flags } = await this.parse(BaselineGate);
    const core = await this.core();
    const result = await core.baselineGate({
      root: await this.stateRoot(false),
      beads: flags.beads,
      worktree: flags.worktree,
      requiredBaseline: flags['required-baseline'],
    });
    process.exitCode = result.passed ? 0 : 1;
    this.out(
      renderGate('Baseline Gate', result, [
        ['worktree', result.worktree],
        ['runtime', result.runtime],
        ['required', result.required],
      ]),
    );
    return result;
  }
}
