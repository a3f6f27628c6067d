import type { WaitOutput } from '@dx/core';
import { beadsArg, beadsFlag, DxCommand, exitCodesHelp, hostFlag, jobBeads, positiveNumber } from '@dx/cli-kit';

export default class Wait extends DxCommand<WaitOutput> {
  static override summary = 'block until a job ends; exit with the code check gives its final state';
  static override description = `Returns once the job is exited_ok, exited_err, no_op or blocked, with check's exit code for that
state (0, 3, 23, 3). Woken by the job's outcome being written (file-system notification; a slow
poll only as a fallback), never a busy loop. With --timeout, gives up after that many seconds and
exits 124 while the job keeps running. SIGINT/SIGTERM end the wait (the job keeps running).
Scripts that wait with a loop on exited_ok|exited_err wait forever for a job that ends no_op (it
exited 0 without changing anything) or blocked: wait knows every terminal state. A restart (by
hand or the watchdog's) is no end: the wait follows the job to its next instance.
${exitCodesHelp([0, 1, 3, 23, 124, 130])}`;

  static override examples = [
    '<%= config.bin %> wait bd-xxx',
    '<%= config.bin %> wait bd-xxx --timeout 3600 --json | jq -r .state',
  ];
  static override args = { beads: beadsArg() };
  static override flags = {
    host: hostFlag,
    beads: beadsFlag(),
    timeout: positiveNumber({ description: 'seconds to wait at most; then exit 124 (the job keeps running)' }),
    'stall-minutes': positiveNumber({
      description: 'stall threshold for the state reported (default: as recorded at start)',
    }),
  };

  async run(): Promise<WaitOutput> {
    const { args, flags } = await this.parse(Wait);
    const beads = jobBeads(args.beads, flags.beads);
    const core = await this.core();
    core.validateEnv();
    const root = await this.stateRoot(false);
    const pollSec = Number(process.env.DX_RUNNER_WAIT_POLL_SEC || 5);
    const abort = new AbortController();
    this.onInterrupt(() => abort.abort());
    const result = await core.waitForJob(root, beads, {
      timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000,
      stallMinutes: flags['stall-minutes'],
      signal: abort.signal,
      pollMs: pollSec * 1000,
    });
    const view = result.view;
    process.exitCode = result.timedOut ? 124 : result.interrupted ? 130 : core.exitCodeForState(view.state);
    const waited = Math.round(result.waitedMs / 100) / 10;
    if (result.timedOut)
      this.out(`${beads}: still ${view.state} (${view.reason_code}) after ${waited}s; it keeps running`);
    else if (result.interrupted)
      this.out(`${beads}: wait interrupted; the job is ${view.state} (${view.reason_code}) and keeps running`);
    else
      this.out(
        `${beads}: ${view.state} (${view.reason_code}) after ${waited}s\nnext_action=${view.next_action}  # ${view.next_action_text}`,
      );
    return { ...view, timed_out: result.timedOut, interrupted: result.interrupted, waited_sec: waited };
  }
}
