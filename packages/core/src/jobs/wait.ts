import path from 'node:path';
import { isTerminal } from '../health/states.js';
import type { JobView } from '../schemas/job-view.js';
import { setLongTimeout, timerPeriod, type LongTimeout } from '../process/timers.js';
import { watchDirectories } from './file-events.js';
import { providersForBeads, requireJob } from './store.js';
import { toJobView } from './view.js';

export interface WaitOptions {
  /** Give up after this long (the job keeps running); undefined waits as long as the job runs. */
  timeoutMs?: number;
  stallMinutes?: number;
  /** The slow poll that catches what no file event announces (a watcher that died). */
  pollMs?: number;
  /** Ends the wait early (SIGINT/SIGTERM of the caller). */
  signal?: AbortSignal;
}

export interface WaitResult {
  view: JobView;
  timedOut: boolean;
  interrupted: boolean;
  waitedMs: number;
}

/**
 * Block until a job is in a terminal state (exited_ok, exited_err, no_op, blocked); a job a restart
 * is relaunching is `launching`, so a wait follows it across restarts. Woken by the file system
 * when the job's files change (the outcome being published), with a slow poll only as a fallback;
 * never a busy loop. Bounded by `timeoutMs` when given.
 */
export async function waitForJob(
  root: string | undefined,
  beads: string,
  options: WaitOptions = {},
): Promise<WaitResult> {
  const started = Date.now();
  const evaluate = () => toJobView(requireJob(root, beads), { stallMinutes: options.stallMinutes });
  let view = evaluate();
  if (isTerminal(view.state)) return { view, timedOut: false, interrupted: false, waitedMs: 0 };
  const pollMs = options.pollMs ?? 5000;
  return new Promise<WaitResult>((resolve, reject) => {
    let unwatch: () => void = () => undefined;
    let nextPoll: NodeJS.Timeout | undefined;
    let deadline: LongTimeout | undefined;
    let debounce: NodeJS.Timeout | undefined;
    let done = false;
    const finish = (timedOut: boolean, interrupted: boolean, error?: Error) => {
      if (done) return;
      done = true;
      unwatch();
      clearTimeout(nextPoll);
      deadline?.clear();
      if (debounce) clearTimeout(debounce);
      options.signal?.removeEventListener('abort', onAbort);
      if (error) reject(error);
      else resolve({ view, timedOut, interrupted, waitedMs: Date.now() - started });
    };
    const check = () => {
      if (done) return;
      try {
        view = evaluate();
      } catch (err) {
        finish(false, false, err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (isTerminal(view.state)) finish(false, false);
    };
    const onAbort = () => finish(false, true);
    options.signal?.addEventListener('abort', onAbort);
    unwatch = watchDirectories(
      providersForBeads(root!, beads).map((provider) => path.join(root!, provider)),
      (name) => {
        if (name && !name.startsWith(beads)) return;
        if (debounce) clearTimeout(debounce);
        debounce = setTimeout(check, 50);
      },
    );
    const poll = () => {
      check();
      if (!done) nextPoll = setTimeout(poll, timerPeriod(pollMs));
    };
    nextPoll = setTimeout(poll, timerPeriod(pollMs));
    if (options.timeoutMs !== undefined) deadline = setLongTimeout(() => finish(true, false), options.timeoutMs);
    if (options.signal?.aborted) onAbort();
  });
}
