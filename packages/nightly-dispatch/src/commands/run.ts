import path from 'node:path';
import { Flags } from '@oclif/core';
import { NIGHTLY_DEFAULTS } from '../config/policy-defaults.js';
import { DxCommand, exitCodesHelp, policyFlag } from '@dx/cli-kit';
import type { NightReport } from '../schemas.js';

export default class Run extends DxCommand<NightReport> {
  static override summary = 'one night: claim ready Beads items and dispatch them through dx-runner';
  static override description = `Selects the provider with dx-runner's preflight chain (policy nightly.provider_chain; every result
kept, the primary failure reported and alerted on fallback), reads \`bd ready --json\`, claims each item
with \`bd update ID --claim\` (items claimed by someone else are skipped), writes the prompt to a private
file and dispatches it with dx-runner start, waiting for the launch acknowledgement
(nightly.ack_timeout_sec, default ${NIGHTLY_DEFAULTS.ack_timeout_sec} s, retried ${NIGHTLY_DEFAULTS.ack_retries} time). At most nightly.max_parallel
(default ${NIGHTLY_DEFAULTS.max_parallel}) nightly jobs run at once during the first nightly.migration_hours (default ${NIGHTLY_DEFAULTS.migration_hours}) after
the recorded migration start, max_parallel_post_migration (default ${NIGHTLY_DEFAULTS.max_parallel_post_migration}) afterwards. Alerts go to SLACK_WEBHOOK_URL. A second run
while one is in progress exits at once. Every run writes a morning report (markdown and JSON).
SIGTERM (cron's timeout), SIGINT or SIGHUP end the night in order: the step in flight finishes,
nothing more is claimed, and the report says \`interrupted\` (exit 143, 130 or 129); the same signal
again ends it at once (the next run settles what it left).
${exitCodesHelp([0, 1, 21, 24])}
  (1: another run in progress, or some items could not be dispatched; 21: no provider available;
   24: bd unavailable)`;

  static override examples = [
    '<%= config.bin %> run',
    '<%= config.bin %> run --dry-run --max-items 5',
    '<%= config.bin %> run --json',
    '<%= config.bin %> run --simulate opencode-rate-limited',
  ];

  static override flags = {
    'dry-run': Flags.boolean({ description: 'preflight and list what would be dispatched; claim and start nothing' }),
    'max-items': Flags.integer({
      description: `items dispatched this run (policy nightly.max_items, default ${NIGHTLY_DEFAULTS.max_items})`,
      min: 1,
      helpValue: '<n>',
    }),
    simulate: Flags.string({
      description:
        'rehearse a night: dx-runner providers play simulator scenarios (a shipped set: opencode-rate-limited, all-providers-down, all-fine; or a YAML file); alerts go out marked [rehearsal]',
      helpValue: '<set|file>',
    }),
    policy: policyFlag,
  };

  async run(): Promise<NightReport> {
    const { flags } = await this.parse(Run);
    await this.core();
    const { runNight } = await import('../night/run-night.js');
    const { nightDeps } = await import('../deps.js');
    const { loadSimulation } = await import('../night/simulate.js');
    const simulation = flags.simulate ? loadSimulation(flags.simulate) : undefined;
    // the log goes to stderr even with --json: cron keeps it, stdout stays one JSON document
    const log = (line: string) => process.stderr.write(`${new Date().toISOString()} nightly-dispatch ${line}\n`);
    // cron's `timeout` (SIGTERM), a Ctrl-C or a hang-up: the step in flight finishes, nothing more is
    // claimed, and the morning report says so; the same signal again ends the run at once
    const stop = new AbortController();
    this.onInterrupt((signal) => {
      log(`${signal}: finishing the step in flight, claiming nothing more (${signal} again ends at once)`);
      stop.abort(signal);
    });
    const report = await runNight(
      { dryRun: flags['dry-run'] ?? false, maxItems: flags['max-items'] },
      {
        ...nightDeps({ policyFile: flags.policy ? path.resolve(flags.policy) : undefined, log, simulation }),
        stop: stop.signal,
      },
    );
    process.exitCode = report.exit_code;
    const { renderMorningReport } = await import('../reports/morning.js');
    this.out(renderMorningReport(report).trimEnd());
    return report;
  }
}
