import { Flags } from '@oclif/core';
import type { PreflightOutput } from '@dx/core';
import { renderPreflight } from '../render/preflight.js';
import { DxCommand, exitCodesHelp, hostFlag, policyFlag } from '@dx/cli-kit';

export default class Probe extends DxCommand<PreflightOutput> {
  static override summary = 'send one tiny real request to test a provider/model pair';
  static override description = `Runs the provider's CLI headless with a one-line prompt against the model (bounded in time and
retries, in a private HOME) and reports whether it answered, classified like a failed job.
${exitCodesHelp([0, 1, 20, 21, 25])}`;

  static override examples = [
    '<%= config.bin %> probe --provider opencode --model zhipuai-coding-plan/glm-5',
    '<%= config.bin %> probe --provider gemini --json',
    '<%= config.bin %> probe --provider cc-glm --timeout 20',
  ];

  static override flags = {
    host: hostFlag,
    provider: Flags.string({ description: 'provider id', required: true, helpValue: '<id>' }),
    model: Flags.string({ description: 'model to probe (default: the policy/env choice)', helpValue: '<model>' }),
    timeout: Flags.integer({
      description: 'seconds to wait for the answer before the probe fails as a timeout',
      default: 60,
      min: 1,
      max: 3600,
      helpValue: '<sec>',
    }),
    policy: policyFlag,
  };

  async run(): Promise<PreflightOutput> {
    const { flags } = await this.parse(Probe);
    const core = await this.core();
    const result = await core.preflightProvider(
      flags.provider,
      {
        registry: await this.providers(),
        policy: await this.policy(flags.policy),
        model: flags.model,
        timeoutMs: flags.timeout * 1000,
      },
      'probe',
    );
    process.exitCode = result.exit_code;
    this.out(renderPreflight(result, 'Probe'));
    return result;
  }
}
