import { Flags } from '@oclif/core';
import type { Deadline, WatchdogOutput, WatchdogPassOutput } from '@dx/core';
import { DxCommand, exitCodesHelp, policyFlag, positiveNumber } from '@dx/cli-kit';

export default class Watchdog extends DxCommand<WatchdogOutput> {
  static override summary = 'restart stalled/no_op jobs, block them after max retries, finalize timeouts';
  static override description = `Every --interval seconds: jobs that are stalled or no_op are restarted while their retries are
below --max-retries and marked blocked after that; jobs past DX_RUNNER_MAX_RUNTIME_MINUTES and jobs
whose watcher died are force-finalized; once a day the policy's job retention is applied (see
dx-runner prune --retention). Runs until interrupted, or --once for a single pass
(--max-passes N for a bounded run). With --json each pass is printed as one JSON line.
${exitCodesHelp([0, 1, 22])}`;

  static override examples = [
    '<%= config.bin %> watchdog --interval 60 --max-retries 1',
    '<%= config.bin %> watchdog --once --json',
  ];

  static override flags = {
    interval: positiveNumber({ description: 'seconds between passes', default: 60 }),
    'max-retries': Flags.integer({
      description: 'restarts allowed before a job is marked blocked',
      default: 1,
      min: 0,
      helpValue: '<n>',
    }),
    'stall-minutes': positiveNumber({ description: 'stall threshold (default: as recorded at start)' }),
    once: Flags.boolean({ description: 'run a single pass and exit' }),
    'max-passes': Flags.integer({ description: 'stop after N passes', min: 1, helpValue: '<n>' }),
    policy: policyFlag,
  };

  async run(): Promise<WatchdogOutput> {
    const { flags } = await this.parse(Watchdog);
    const core = await this.core();
    core.validateEnv();
    const registry = await this.providers();
    const policy = await this.policy(flags.policy);
    const maxPasses = flags.once ? 1 : (flags['max-passes'] ?? Infinity);
    const passes: WatchdogPassOutput[] = [];
    let stopping = false;
    this.onInterrupt(() => {
      stopping = true;
    });
    if (!this.jsonEnabled() && maxPasses > 1) {
      this.out(
        `watchdog: interval=${flags.interval}s max_retries=${flags['max-retries']} state_dir=${core.stateRootPath()}`,
      );
    }
    // a watchdog that was frozen with the jobs (a suspend) lets their watchers record it before judging them
    const freeze = new core.FreezeClock(flags.interval * 1000, core.freezeGapMs());
    for (let n = 0; n < maxPasses && !stopping; n++) {
      const root = await this.stateRoot(false);
      const pass = await core.watchdogPass(root, {
        registry,
        policy,
        maxRetries: flags['max-retries'],
        dailyRetention: true,
        stallMinutes: flags['stall-minutes'],
        version: this.config.version,
      });
      if (maxPasses === 1) passes.push(pass);
      if (this.jsonEnabled()) {
        if (maxPasses > 1) this.streamJson(pass);
      } else {
        for (const a of pass.actions) {
          this.out(
            `${pass.generated_at} [${a.beads}] ${a.state} (${a.reason_code})${a.action === 'none' ? '' : ` -> ${a.action}${a.detail ? `: ${a.detail}` : ''}`}`,
          );
        }
        for (const j of pass.retention?.not_removed ?? [])
          this.out(
            `${pass.generated_at} [${j.beads}] retention could not remove its files (next day again): ${j.error}`,
          );
        if (pass.actions.length === 0 && maxPasses === 1)
          this.out(`${pass.generated_at} checked=${pass.checked} nothing to do`);
      }
      if (n + 1 < maxPasses && !stopping) {
        await waitInterruptible(core.deadlineIn(flags.interval * 1000), () => stopping);
        const frozen = freeze.tick();
        if (frozen > 0) {
          if (!this.jsonEnabled())
            this.out(
              `${new Date().toISOString()} pass ${Math.round(frozen / 1000)}s late (a suspend, a paused VM): the watchers record a freeze first`,
            );
          await waitInterruptible(core.deadlineIn(core.AFTER_FREEZE_SETTLE_MS), () => stopping);
        }
      }
    }
    // a long-running watchdog streamed its passes as JSON lines already; only --once returns them
    return { passes };
  }
}

/** Until the (monotonic) deadline or a stop, looking every 200 ms. */
async function waitInterruptible(deadline: Deadline, stop: () => boolean): Promise<void> {
  while (!deadline.passed() && !stop()) await new Promise((r) => setTimeout(r, Math.min(200, deadline.leftMs())));
}
