import { Flags } from '@oclif/core';
import type { ItemWorktreeGateOutput } from '@dx/core';
import { renderGate } from '../render/gate.js';
import { beadsFlag, DxCommand, exitCodesHelp, hostFlag, policyFlag } from '@dx/cli-kit';

export default class WorktreeGate extends DxCommand<ItemWorktreeGateOutput> {
  static override summary =
    "find an item's git worktree on this machine (dx-worktree layout) and check it against the policy";
  static override description = `Looks for exactly one git checkout under <base>/<beads>/ and applies the worktree gate (allowed
prefixes, no canonical repo) of this machine's policy. Reasons: worktree_found, worktree_missing,
worktree_ambiguous, worktree_outside_allowed_prefixes, canonical_worktree_forbidden. dx-batch asks each
fleet host this before it sends an attempt there (--host).
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> worktree-gate --beads bd-xxx',
    '<%= config.bin %> worktree-gate --beads bd-xxx --base /tmp/agents --host epyc6 --json',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsFlag({ required: true }),
    base: Flags.string({
      description: "folder holding the items' worktrees (default: the policy's first allowed prefix)",
      helpValue: '<dir>',
    }),
    policy: policyFlag,
  };

  async run(): Promise<ItemWorktreeGateOutput> {
    const { flags } = await this.parse(WorktreeGate);
    const core = await this.core();
    const policy = await this.policy(flags.policy);
    const base = flags.base ?? policy.worktrees.allowedPrefixes[0] ?? '/tmp/agents';
    const result = core.itemWorktreeGate({ beads: flags.beads, base, policy });
    process.exitCode = result.passed ? 0 : 1;
    this.out(
      renderGate('Worktree Gate', result, [
        ['base', result.base],
        ['worktree', result.worktree],
      ]),
    );
    return result;
  }
}
