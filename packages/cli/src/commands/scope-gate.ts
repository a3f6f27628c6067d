import { Flags } from '@oclif/core';
import type { ScopeGateOutput } from '@dx/core';
import { renderGate } from '../render/gate.js';
import { beadsFlag, DxCommand, exitCodesHelp, hostFlag } from '@dx/cli-kit';

export default class ScopeGate extends DxCommand<ScopeGateOutput> {
  static override summary = 'check the changed paths stay inside an allowlist and within a mutation budget';
  static override description = `Changed paths = everything that differs from the job's start commit (committed or not) plus new
files; without a job, the uncommitted changes. The allowlist file has one path prefix or glob
(*, **, ?) per line, # for comments. Reasons: scope_ok, path_outside_allowlist,
mutation_budget_exceeded, allowed_paths_file_unreadable, worktree_missing, not_a_git_repo.
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> scope-gate --beads bd-xxx --allowed-paths-file allowed.txt --mutation-budget 20',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    worktree: Flags.string({ description: 'git worktree to check', helpValue: '<dir>' }),
    'allowed-paths-file': Flags.string({
      description: 'file of allowed path prefixes/globs (default: the one given at start)',
      helpValue: '<file>',
    }),
    'mutation-budget': Flags.integer({
      description: 'maximum number of changed files (default: the one given at start)',
      min: 0,
      helpValue: '<n>',
    }),
    base: Flags.string({ description: 'compare against this commit instead of the job start', helpValue: '<sha>' }),
  };

  async run(): Promise<ScopeGateOutput> {
    const { flags } = await this.parse(ScopeGate);
    const core = await this.core();
    const root = await this.stateRoot(false);
    const meta = flags.beads ? core.findLatestJob(root, core.assertBeadsId(flags.beads))?.meta : undefined;
    const result = await core.scopeGate({
      root,
      beads: flags.beads,
      worktree: flags.worktree,
      allowedPathsFile: flags['allowed-paths-file'] ?? meta?.allowed_paths_file,
      mutationBudget: flags['mutation-budget'] ?? meta?.mutation_budget,
      base: flags.base,
    });
    process.exitCode = result.passed ? 0 : 1;
    this.out(
      renderGate('Scope Gate', result, [
        ['worktree', result.worktree],
        ['mutations', result.mutations],
        ['budget', result.mutation_budget],
        ['violations', result.violations],
      ]),
    );
    return result;
  }
}
