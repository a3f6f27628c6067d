import {
  DxRunnerClient,
  DxRunnerError,
  isDxError,
  type DxRunnerTransport,
  type StartOutput,
  type StartRequest,
} from '@dx/core';

export type AckResult =
  | { ok: true; started: StartOutput | null; attempts: number; late: boolean }
  | { ok: false; attempts: number; reasonCode: string; error: string };

/**
 * `dx-runner start` and its launch acknowledgement, bounded by `ackTimeoutSec` and retried
 * `retries` times (default 45 s, one retry). After a timeout, dx-runner is asked whether the job
 * came up anyway before trying again, so a slow acknowledgement never launches the item twice.
 */
export async function dispatchWithAck(
  transport: DxRunnerTransport,
  request: StartRequest,
  ackTimeoutSec: number,
  retries: number,
  log: (line: string) => void,
): Promise<AckResult> {
  const starter = new DxRunnerClient({ transport, timeoutMs: ackTimeoutSec * 1000 });
  const checker = new DxRunnerClient({ transport, timeoutMs: 30_000 });
  let last: { reasonCode: string; error: string } = { reasonCode: 'dispatch_failed', error: 'not attempted' };
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    const requestedAt = new Date().toISOString();
    try {
      const started = await starter.start(request);
      return { ok: true, started, attempts: attempt, late: false };
    } catch (err) {
      // a fleet host that did not answer: not launched there (a host failure, not a timeout to retry)
      if (!(err instanceof DxRunnerError) && isDxError(err))
        return { ok: false, attempts: attempt, reasonCode: err.reasonCode, error: err.message };
      if (!(err instanceof DxRunnerError)) throw err;
      last = { reasonCode: err.reasonCode, error: err.message };
      if (err.reasonCode !== 'dx_runner_timeout') return { ok: false, attempts: attempt, ...last };
      log(
        `${request.beads}: no launch acknowledgement within ${ackTimeoutSec}s (attempt ${attempt} of ${retries + 1})`,
      );
      const view = await checker.check(request.beads).then(
        (r) => r.view,
        () => null,
      );
      if (view && view.started_at && view.started_at >= requestedAt.slice(0, 19)) {
        log(`${request.beads}: the job came up after all (run ${view.run_instance})`);
        return { ok: true, started: null, attempts: attempt, late: true };
      }
    }
  }
  return {
    ok: false,
    attempts: retries + 1,
    reasonCode: 'ack_timeout',
    error: `no launch acknowledgement after ${retries + 1} attempt(s) of ${ackTimeoutSec}s (last: ${last.error})`,
  };
}
