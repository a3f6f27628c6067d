import {
  certainlyBefore,
  DxRunnerClient,
  DxRunnerError,
  HostError,
  isDxError,
  type DxRunnerTransport,
  type StartOutput,
  type StartRequest,
} from '@dx/core';

export type AckResult =
  | { ok: true; started: StartOutput | null; attempts: number; late: boolean }
  | {
      ok: false;
      attempts: number;
      reasonCode: string;
      error: string;
      /** The start reached the host and nobody could tell whether it launched the job: keep the claim. */
      mayHaveLaunched?: boolean;
    };

/**
 * `dx-runner start` and its launch acknowledgement, bounded by `ackTimeoutSec` and retried
 * `retries` times (default 45 s, one retry). After a timeout — or a fleet host's connection dropping
 * before the answer came back — dx-runner is asked whether the job came up anyway before trying
 * again, so a slow acknowledgement never launches the item twice; a host that cannot be asked leaves
 * the outcome unknown (`mayHaveLaunched`).
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
      // the connection to a fleet host dropped mid-call: the start may have run there
      const cutOff = err instanceof HostError && err.failure === 'host_unreachable';
      // any other host failure stopped ssh before the command ran: not launched there
      if (!(err instanceof DxRunnerError) && isDxError(err) && !cutOff)
        return { ok: false, attempts: attempt, reasonCode: err.reasonCode, error: err.message };
      if (!(err instanceof DxRunnerError) && !cutOff) throw err;
      last = { reasonCode: err.reasonCode, error: err.message };
      if (!cutOff && last.reasonCode !== 'dx_runner_timeout') return { ok: false, attempts: attempt, ...last };
      log(
        `${request.beads}: no launch acknowledgement ${cutOff ? `(${last.error})` : `within ${ackTimeoutSec}s`} (attempt ${attempt} of ${retries + 1})`,
      );
      let asked = true;
      const answer = await checker.checkMany([request.beads]).then(
        ({ jobs, clock }) => (jobs[0] ? { view: jobs[0], clock } : null),
        (checkErr: unknown) => {
          if (checkErr instanceof HostError) asked = false;
          return null;
        },
      );
      const view = answer?.view;
      // its start time is the host's clock: read through it (a host behind ours dates this very
      // start before our request, and starting again would meet the running job)
      if (view?.started_at && certainlyBefore(view.started_at, requestedAt, answer!.clock) === false) {
        log(`${request.beads}: the job came up after all (run ${view.run_instance})`);
        return { ok: true, started: null, attempts: attempt, late: true };
      }
      if (!asked)
        return {
          ok: false,
          attempts: attempt,
          reasonCode: last.reasonCode,
          error: `${last.error}; the start may have launched the job there and the host cannot be asked`,
          mayHaveLaunched: true,
        };
    }
  }
  return {
    ok: false,
    attempts: retries + 1,
    reasonCode: 'ack_timeout',
    error: `no launch acknowledgement after ${retries + 1} attempt(s) of ${ackTimeoutSec}s (last: ${last.error})`,
  };
}
