import path from 'node:path';
import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp, policyFlag } from '@dx/cli-kit';
import type { DemoOutput } from '../schemas.js';

export default class Demo extends DxCommand<DemoOutput> {
  static override summary = 'see a wave work: five simulated items through implement → review, live, then the report';
  static override description = `Makes five throw-away git repositories (<base>/demo-1 … demo-5/repo) and runs a wave over them with
dx-runner's simulator (providers sim and sim-alt: scripted agents, no model, no network), through
the real orchestrator and the real dx-runner: demo-2 needs a revision, demo-3 is rate-limited and
falls back to sim-alt, demo-4 is blocked, the others are approved. The live view goes to stderr; the
wave report follows. --clean removes the demo repositories (only folders the demo made).
${exitCodesHelp([0, 1])}
  (0: the wave ended as designed — four approved, demo-4 blocked)`;

  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --clean'];

  static override flags = {
    base: Flags.string({
      description:
        "folder for the demo repositories, made if missing; it must lie under an allowed worktree prefix (default: the policy's first)",
      helpValue: '<dir>',
    }),
    clean: Flags.boolean({ description: 'remove the demo repositories' }),
    policy: policyFlag,
  };

  async run(): Promise<DemoOutput> {
    const { flags } = await this.parse(Demo);
    const core = await this.core();
    const { waveDeps } = await import('../deps.js');
    const { cleanDemo, demoEnv, runDemoWave } = await import('../demo/demo.js');
    const env = demoEnv(process.env);
    const deps = waveDeps({ policyFile: flags.policy, silent: this.jsonEnabled(), create: !flags.clean }, env);
    const base = path.resolve(flags.base ?? deps.policy.worktrees.allowedPrefixes[0] ?? '/tmp/agents');
    if (flags.clean) {
      const removed = cleanDemo(base);
      this.out(removed.length > 0 ? `removed ${removed.join(', ')}` : 'no demo repositories to remove');
      return { wave: null, as_designed: null, removed };
    }
    const { wave, asDesigned } = await runDemoWave(base, {
      ...deps,
      onRunning: (o) => this.onInterrupt(() => o.requestPause()),
    });
    const { buildWaveReport, renderWaveReportMarkdown, waveOutput } = await import('../reports/report.js');
    this.out(renderWaveReportMarkdown(buildWaveReport(wave)));
    this.out(
      asDesigned
        ? `demo wave ${wave.wave_id} ended as designed (a simulation: no model was called). Look again: dx-batch report --wave-id ${wave.wave_id}`
        : `demo wave ${wave.wave_id} did not end as designed (${wave.status}, ${wave.reason_code})`,
    );
    if (!asDesigned)
      throw new core.DxError(`demo wave ${wave.wave_id} ended ${wave.status} (${wave.reason_code}), not as designed`, {
        exitCode: core.ExitCode.general,
        reasonCode: 'demo_unexpected_end',
        nextAction: 'run_dx-batch_report',
      });
    return { wave: waveOutput(wave), as_designed: asDesigned, removed: [] };
  }
}
