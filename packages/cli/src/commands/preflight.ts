import { Flags } from '@oclif/core';
import type { PreflightChainOutput, PreflightOutput } from '@dx/core';
import { renderPreflight } from '../render/preflight.js';
import { DxCommand, exitCodesHelp, hostFlag, policyFlag } from '@dx/cli-kit';

export default class Preflight extends DxCommand<PreflightOutput | PreflightChainOutput> {
  static override summary = 'check a provider (or the whole fallback chain) before dispatching work';
  static override description = `With --provider: binary found and its version, credentials present (cheap offline checks), and
the model allowed by the policy and available. Without --provider: every provider of the policy's
fallback_chain in order until one passes; the JSON keeps every result, the selected provider and
model, and the primary (first) failure when it fell back.
${exitCodesHelp([0, 1, 20, 21, 25])}`;

  static override examples = ['<%= config.bin %> preflight --provider opencode', '<%= config.bin %> preflight --json'];

  static override flags = {
    host: hostFlag,
    provider: Flags.string({ description: 'provider to check; default: the policy fallback chain', helpValue: '<id>' }),
    chain: Flags.string({
      description:
        'comma-separated providers (provider or provider:model) to try in order instead of the policy fallback chain',
      helpValue: '<ids>',
      exclusive: ['provider'],
    }),
    model: Flags.string({ description: 'model to check instead of the policy/env choice', helpValue: '<model>' }),
    worktree: Flags.string({ description: 'worktree the job would run in', helpValue: '<dir>' }),
    policy: policyFlag,
  };

  async run(): Promise<PreflightOutput | PreflightChainOutput> {
    const { flags } = await this.parse(Preflight);
    const core = await this.core();
    const options = {
      registry: await this.providers(),
      policy: await this.policy(flags.policy),
      model: flags.model,
      worktree: flags.worktree,
    };
    if (flags.provider) {
      const result = await core.preflightProvider(flags.provider, options);
      process.exitCode = result.exit_code;
      this.out(renderPreflight(result));
      return result;
    }
    const chain = await core.preflightChain({
      ...options,
      chain: flags.chain
        ? flags.chain
            .split(',')
            .map((s) => s.trim())
            .filter(Boolean)
        : undefined,
    });
    process.exitCode = chain.ok ? 0 : core.ExitCode.preflightFailed;
    for (const r of chain.results) this.out(`${renderPreflight(r)}\n`);
    if (chain.ok) {
      this.out(`selected: ${chain.selected_provider} (model ${chain.selected_model ?? '-'})`);
      if (chain.primary_failure)
        this.out(`fell back: primary ${chain.primary_failure.provider} failed: ${chain.primary_failure.error}`);
    } else {
      this.out(`no provider available: ${chain.results.map((r) => `${r.provider}: ${r.reason_code}`).join('; ')}`);
    }
    for (const warning of chain.warnings) this.out(`warning: ${warning}`);
    return chain;
  }
}
