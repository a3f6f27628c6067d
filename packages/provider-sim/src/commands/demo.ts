import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp, flowText, policyFlag } from '@dx/cli-kit';
import type { DemoOutput } from '../schemas.js';

export default class Demo extends DxCommand<DemoOutput> {
  static override summary = 'see dx-runner work: a short simulated job, live, in a throw-away repository';
  static override description =
    flowText(`Makes a throw-away git repository under the policy's worktree prefix (<base>/bd-demo/repo),
starts a job there with the simulator (provider sim, no model, no network), follows it live
through the real engine (watcher, heartbeats, outcome, report) and prints the commands to inspect
it. Run it again to start over; --clean stops and forgets the demo job and removes its repository.
--scenario plays any simulator scenario (see dx-runner sim scenarios), e.g. rate-limited or stall.
${exitCodesHelp([0, 1])}`);

  static override examples = [
    '<%= config.bin %> demo',
    '<%= config.bin %> demo --scenario rate-limited',
    '<%= config.bin %> demo --clean',
  ];

  static override flags = {
    scenario: Flags.string({ description: 'simulator scenario to play', default: 'success', helpValue: '<name|file>' }),
    base: Flags.string({
      description:
        "folder for the demo repository, made if missing; it must lie under an allowed worktree prefix (default: the policy's first)",
      helpValue: '<dir>',
    }),
    clean: Flags.boolean({ description: 'stop and forget the demo job and remove its repository' }),
    policy: policyFlag,
  };

  async run(): Promise<DemoOutput> {
    const { flags } = await this.parse(Demo);
    const core = await this.core();
    const policy = await this.policy(flags.policy);
    const base = flags.base ?? policy.worktrees.allowedPrefixes[0] ?? '/tmp/agents';
    const { cleanDemo, runDemo } = await import('../demo.js');
    if (flags.clean) {
      const cleaned = await cleanDemo(core, base);
      this.out(`demo cleaned: job ${cleaned.beads} forgotten, ${cleaned.worktree} removed`);
      return cleaned;
    }
    const live = !this.jsonEnabled();
    const result = await runDemo(core, this.config.bin, {
      base,
      scenario: flags.scenario,
      registry: await this.providers(),
      policy,
      version: this.config.version,
      onProgress: live ? (line) => this.out(line) : undefined,
    });
    this.out(`\n${result.beads}: ${result.state} (${result.reason_code ?? '-'})  — a simulation, no model was called`);
    this.out('inspect it:');
    for (const command of result.commands) this.out(`  ${command}`);
    return result;
  }
}
