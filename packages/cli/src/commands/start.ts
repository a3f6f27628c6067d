import { Flags, type Interfaces } from '@oclif/core';
import type { StartOutput } from '@dx/core';
import type { PrespawnedWatcher } from '@dx/core/prespawn';
import { beadsFlag, DxCommand, exitCodesHelp, hostFlag, policyFlag } from '@dx/cli-kit';

export default class Start extends DxCommand<StartOutput> {
  static override summary = 'launch an agent job for a beads issue in an isolated worktree';
  static override description = `Validates the beads id, prompt file, provider and worktree (worktree-only gate), then launches
the provider's CLI headless and detached, in its own process group with stdin closed and a private
HOME and TMPDIR. A watcher process follows the job, records progress and writes the outcome file
when it ends. --dry-run validates everything and launches nothing.
${exitCodesHelp([0, 1, 20, 21, 22, 25])}`;

  static override examples = [
    '<%= config.bin %> start --beads bd-xxx --provider opencode --prompt-file /tmp/p.prompt --worktree /tmp/agents/bd-xxx/repo',
    '<%= config.bin %> start --beads bd-xxx --provider cc-glm --prompt-file /tmp/p.prompt --dry-run --json',
    '<%= config.bin %> start --beads bd-xxx --profile cc-glm-fallback --prompt-file /tmp/p.prompt --preflight',
    '<%= config.bin %> start --beads bd-demo --provider sim --scenario rate-limited --worktree /tmp/agents/bd-demo/repo',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsFlag({ required: true }),
    provider: Flags.string({
      description: "provider id (see dx-runner preflight); default: the profile's",
      helpValue: '<id>',
    }),
    profile: Flags.string({
      description: 'YAML profile: provider, model and limits (see dx-runner profiles)',
      helpValue: '<name>',
    }),
    preflight: Flags.boolean({
      description: "run the provider's preflight first; refuse to launch if it fails (exit 21/25)",
    }),
    'required-baseline': Flags.string({
      description: "refuse to launch unless the worktree's HEAD contains this commit SHA",
      helpValue: '<sha>',
    }),
    'allowed-paths-file': Flags.string({
      description: 'allowlist the job’s scope gate checks changes against',
      helpValue: '<file>',
    }),
    'mutation-budget': Flags.integer({
      description: 'maximum changed files for the job’s scope gate',
      min: 0,
      helpValue: '<n>',
    }),
    'prompt-file': Flags.string({
      description: 'file holding the task prompt, or - for stdin (required unless --dry-run or --provider sim)',
      helpValue: '<file>',
    }),
    worktree: Flags.string({
      description: 'directory the agent works in (default: the git worktree containing cwd)',
      helpValue: '<dir>',
    }),
    model: Flags.string({ description: 'model to request (must be allowed by the policy)', helpValue: '<model>' }),
    'dry-run': Flags.boolean({ description: 'validate everything, launch nothing' }),
    'expect-no-changes': Flags.boolean({
      description:
        'a read-only task (e.g. a review): exit 0 without changes is exited_ok (read_only_ok), not no_op; with changes, read_only_changed',
    }),
    owner: Flags.string({
      description:
        'who starts the job, e.g. dx-batch:<wave>; the watchdog leaves restarts of owned jobs to their owner',
      helpValue: '<tool:id>',
    }),
    scenario: Flags.string({
      description:
        'the simulator plays this scenario (a name from `dx-runner sim scenarios`, or a YAML file); --provider sim only, prompt optional',
      helpValue: '<name|file>',
    }),
    policy: policyFlag,
  };

  async run(): Promise<StartOutput> {
    const { flags } = await this.parse(Start);
    // the watcher boots in parallel with validation (spawned by the bin, or now); startJob consumes or cancels it
    const { prespawnWatcher, takePrespawned } = await import('@dx/core/prespawn');
    const early = takePrespawned();
    if (flags['dry-run']) early?.cancel();
    const watcher = flags['dry-run'] ? undefined : (early ?? prespawnWatcher());
    const settleInterrupt = this.deferInterruptsOnceHandedOver(watcher);
    try {
      const result = await this.launch(flags, watcher);
      settleInterrupt(result.beads);
      return result;
    } finally {
      watcher?.cancel();
    }
  }

  private async launch(
    flags: Interfaces.InferredFlags<typeof Start.flags>,
    watcher: PrespawnedWatcher | undefined,
  ): Promise<StartOutput> {
    const core = await this.core();
    const profile = flags.profile ? core.loadProfile(flags.profile) : undefined;
    const provider = flags.provider ?? profile?.provider;
    const result = await core.startJob({
      beads: flags.beads,
      provider: flags.provider,
      registry: await this.providers(provider ? [provider] : undefined),
      profile,
      preflight: flags.preflight,
      requiredBaseline: flags['required-baseline'],
      allowedPathsFile: flags['allowed-paths-file'],
      mutationBudget: flags['mutation-budget'],
      promptFile: flags['prompt-file'],
      worktree: flags.worktree,
      model: flags.model,
      dryRun: flags['dry-run'],
      expectNoChanges: flags['expect-no-changes'],
      owner: flags.owner,
      scenario: flags.scenario,
      policy: await this.policy(flags.policy),
      version: this.config.version,
      watcher,
    });
    if (result.dry_run) {
      this.out(`dry-run ok beads=${result.beads} provider=${result.provider} worktree=${result.worktree}`);
      this.out(`command: ${result.command}`);
    } else {
      this.out(`started beads=${result.beads} provider=${result.provider} pid=${result.pid} log=${result.log}`);
    }
    return result;
  }
}
