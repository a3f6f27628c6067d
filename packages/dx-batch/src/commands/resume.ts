import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp, policyFlag } from '@dx/cli-kit';
import { waveIdFlag } from '../waves/wave-id.js';
import type { WaveOutput } from '../schemas.js';
import { exitCodeForWave, finishWave } from '../render/wave-output.js';

export default class Resume extends DxCommand<WaveOutput> {
  static override summary = 'take over and continue a paused, failed or orphaned wave';
  static override description = `Refused while the wave's orchestrator is alive. Jobs that ran meanwhile are adopted; an attempt
whose job was recorded but never started is started; nothing finished runs again. A wave paused on
its token budget (token_budget_spent) goes on with a higher --max-tokens.
${exitCodesHelp([0, 1, 3])}`;

  static override examples = [
    '<%= config.bin %> resume --wave-id wave-20261124-101500',
    '<%= config.bin %> resume --wave-id wave-20261124-101500 --max-tokens 4000000',
  ];
  static override flags = {
    'wave-id': waveIdFlag({ description: 'wave id', required: true }),
    'max-tokens': Flags.integer({
      description: "the wave's new token budget (input + output tokens of all its attempts)",
      min: 1,
      helpValue: '<n>',
    }),
    policy: policyFlag,
  };

  async run(): Promise<WaveOutput> {
    const { flags } = await this.parse(Resume);
    await this.core();
    const { resumeWave } = await import('../orchestrator/lifecycle.js');
    const { waveDeps } = await import('../deps.js');
    const deps = waveDeps({ policyFile: flags.policy, silent: this.jsonEnabled(), create: false });
    const wave = await resumeWave(
      flags['wave-id'],
      { ...deps, onRunning: (o) => this.onInterrupt(() => o.requestPause()) },
      { maxTokens: flags['max-tokens'] },
    );
    process.exitCode = exitCodeForWave(wave);
    return finishWave((t) => this.out(t), wave);
  }
}
