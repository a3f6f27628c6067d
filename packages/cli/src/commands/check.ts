import type { CheckOutput } from '@dx/core';
import {
  beadsArg,
  beadsFlag,
  DxCommand,
  exitCodesHelp,
  formatDuration,
  hostFlag,
  jobBeads,
  positiveNumber,
} from '@dx/cli-kit';

export default class Check extends DxCommand<CheckOutput> {
  static override summary = "report one job's health state and exit with its code";
  static override description = `States: launching, healthy, stalled, no_op, exited_ok, exited_err, blocked. The exit code is the
state's: 0 for launching/healthy/exited_ok, 2 stalled, 3 exited_err or blocked, 23 no_op. When one
beads id ran under several providers, the latest instance is reported.
${exitCodesHelp([0, 1, 2, 3, 23])}`;

  static override examples = [
    '<%= config.bin %> check bd-xxx',
    '<%= config.bin %> check --beads bd-xxx',
    '<%= config.bin %> check bd-xxx --json | jq -r .state',
  ];
  static override args = { beads: beadsArg() };

  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    'stall-minutes': positiveNumber({ description: 'minutes without a provider event before a live job is stalled' }),
  };

  async run(): Promise<CheckOutput> {
    const { args, flags } = await this.parse(Check);
    const beads = jobBeads(args.beads, flags.beads);
    const core = await this.jobReads();
    const root = await this.stateRoot(false);
    const view = core.toJobView(core.requireJob(root, beads), { stallMinutes: flags['stall-minutes'] });
    process.exitCode = core.exitCodeForState(view.state);
    this.out(`${view.beads}: ${view.state} (${view.reason_code})`);
    this.out(`next_action=${view.next_action}  # ${view.next_action_text}`);
    this.out(
      `provider=${view.provider} selected_model=${view.selected_model ?? '-'} retries=${view.retries}${view.pid ? ` pid=${view.pid}` : ''}`,
    );
    this.out(
      `metrics events=${view.events} tool_calls=${view.tool_calls} mutations=${view.mutations} log_bytes=${view.log_bytes} elapsed=${formatDuration(view.elapsed_sec)}${view.exit_code === null ? '' : ` exit_code=${view.exit_code}`}`,
    );
    if (view.repeating) this.out(`repeating calls=${view.repeating.calls} latest=${view.repeating.call}`);
    if (view.corrupt) this.out(`unreadable ${view.corrupt.message}`);
    return view;
  }
}
