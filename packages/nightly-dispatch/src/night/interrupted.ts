import fs from 'node:fs';
import path from 'node:path';
import {
  certainlyBefore,
  DxRunnerError,
  readJsonFileIfExists,
  SAME_CLOCK,
  writeFileAtomic,
  type BdClient,
  type BeadsIssue,
  type DxRunnerClient,
  type HostClock,
} from '@dx/core';
import type { InterruptedDispatch } from '../schemas.js';

/**
 * An item a run is dispatching (`dispatching/<beads>.json`): recorded before bd is asked for the
 * claim (`claim_pending`), again once bd has given it, and removed once the outcome is recorded (its
 * job remembered, or the claim given back). A run killed in between (the cron job SIGKILLed, the
 * machine rebooted) leaves it, and the next run settles it before taking new work: without it, the
 * item would stay claimed by nobody, out of `bd ready`, for good. A dispatch whose host could not be
 * asked whether its job started keeps its record too, so the next run asks again.
 */
export interface Dispatching {
  run_id: string;
  beads_id: string;
  host: string;
  /** When this run began to claim the item (before `bd update --claim` ran). */
  claimed_at: string;
  /** The run was killed while bd was claiming: whether bd took the claim is not known. */
  claim_pending?: boolean;
  /** Who bd says holds the claim, read right after it was taken: a claim given back must still be that one. */
  assignee: string | null;
  /** The Beads database of the claim (BEADS_DIR; null: bd's own default): settled only against the same one. */
  beads_dir: string | null;
  /** The prompt file handed to dx-runner (this machine's), removed with the record. */
  prompt_file: string | null;
}

function dispatchingDir(root: string): string {
  return path.join(root, 'dispatching');
}

function dispatchingFile(root: string, beads: string): string {
  return path.join(dispatchingDir(root), `${beads}.json`);
}

export function recordDispatching(root: string, dispatching: Dispatching): void {
  fs.mkdirSync(dispatchingDir(root), { recursive: true, mode: 0o700 });
  writeFileAtomic(dispatchingFile(root, dispatching.beads_id), `${JSON.stringify(dispatching)}\n`);
}

export function clearDispatching(root: string, beads: string): void {
  fs.rmSync(dispatchingFile(root, beads), { force: true });
}

/** Every dispatch earlier runs left unsettled (only a run holding the nightly lock asks: their runs are over). */
export async function settleInterruptedDispatches(root: string, deps: SettleDeps): Promise<InterruptedDispatch[]> {
  let names: string[];
  try {
    names = fs.readdirSync(dispatchingDir(root));
  } catch {
    return [];
  }
  const settled: InterruptedDispatch[] = [];
  for (const name of names.filter((n) => n.endsWith('.json')).sort()) {
    const file = path.join(dispatchingDir(root), name);
    const left = readJsonFileIfExists<Dispatching>(file);
    if (left) settled.push(await settle(root, left, deps));
    else fs.rmSync(file, { force: true }); // unreadable: no dispatch this tool recorded
  }
  return settled;
}

interface SettleDeps {
  bd: BdClient;
  /** This run's Beads database (BEADS_DIR; null: bd's own default). */
  beadsDir: string | null;
  clientFor: (host: string) => DxRunnerClient | undefined;
  remember: (beads: string, host: string) => void;
  log: (line: string) => void;
}

/**
 * A dispatch whose job started after the claim → the job is the item's, the claim stays (`remember`
 * counts it as a running nightly job); no such job → the claim goes back to bd, so the item is ready
 * again (for this very run) — unless bd shows it is no longer this claim (then it is left alone); the
 * host cannot be asked, or the claim was made in another Beads database → the claim and the record stay.
 */
async function settle(root: string, left: Dispatching, deps: SettleDeps): Promise<InterruptedDispatch> {
  const settled = (outcome: InterruptedDispatch['outcome'], reason: string): InterruptedDispatch => {
    deps.log(`${left.beads_id}: dispatch left unsettled by run ${left.run_id}: ${reason}`);
    return { beads_id: left.beads_id, run_id: left.run_id, host: left.host, outcome, reason };
  };
  if (left.beads_dir !== deps.beadsDir)
    return settled(
      'claim_kept',
      `claimed in the Beads database ${left.beads_dir ?? "bd's default"}; this run uses ${deps.beadsDir ?? "bd's default"}`,
    );
  const client = deps.clientFor(left.host);
  let view: { started_at: string | null; run_instance: string | null } | undefined;
  let clock: HostClock = SAME_CLOCK;
  let unanswered: string | null = client ? null : `host ${left.host} is not available tonight`;
  if (client) {
    try {
      ({
        jobs: [view],
        clock,
      } = await client.checkMany([left.beads_id]));
    } catch (err) {
      if (!(err instanceof DxRunnerError && err.reasonCode === 'job_not_found')) unanswered = (err as Error).message;
    }
  }
  if (unanswered !== null) return settled('claim_kept', `claim kept: dx-runner could not be asked (${unanswered})`);

  if (left.prompt_file) fs.rmSync(left.prompt_file, { force: true });
  // the start time is the host's clock, the claim's ours: compared through the host's clock
  if (view?.started_at && certainlyBefore(view.started_at, left.claimed_at, clock) === false) {
    deps.remember(left.beads_id, left.host);
    clearDispatching(root, left.beads_id);
    return settled('job_started', `its job had started (${view.run_instance ?? 'instance unknown'}): the claim stays`);
  }
  // given back only while it is still this claim: a person may have taken the item over meanwhile
  const found = await deps.bd.lookup(left.beads_id);
  if ('error' in found) return settled('claim_kept', `claim kept: bd could not be asked (${found.error})`);
  const now = 'issue' in found ? found.issue : undefined;
  if (left.claim_pending) {
    const pending = claimPending(left, now);
    if (pending) {
      if (pending.outcome !== 'claim_kept') clearDispatching(root, left.beads_id);
      return settled(pending.outcome, pending.reason);
    }
  }
  if (!now || now.status !== 'in_progress' || (left.assignee !== null && now.assignee !== left.assignee)) {
    clearDispatching(root, left.beads_id);
    return settled(
      'claim_moved_on',
      `no job had started, and the item is no longer this claim (${now ? `${now.status}, ${now.assignee ?? 'unassigned'}` : 'not found'}): left as it is`,
    );
  }
  if (!(await deps.bd.release(left.beads_id)))
    return settled('claim_kept', 'no job had started, but bd did not take the claim back');
  clearDispatching(root, left.beads_id);
  return settled('claim_released', 'no job had started: claim given back');
}

/** A bd time printed without a fraction is to the second (a SQL DATETIME without fractions). */
const BD_SECOND_MS = 1000;

/**
 * A run killed while bd was claiming: the claim is the run's when bd changed the item (in progress)
 * at or after the moment the run began to claim it; a claim older than that is someone else's, and
 * an item still open was never claimed. Undefined: the claim is the run's, settled like any other.
 */
export function claimPending(
  left: Dispatching,
  now: BeadsIssue | undefined,
): { outcome: InterruptedDispatch['outcome']; reason: string } | undefined {
  const killed = 'the run was killed while bd was claiming it';
  if (!now || now.status !== 'in_progress')
    return {
      outcome: 'never_claimed',
      reason: `${killed}, and bd shows it ${now ? now.status : 'gone'}: the claim was never taken`,
    };
  const stamp = typeof now.updated_at === 'string' ? now.updated_at : '';
  const changedAt = Date.parse(stamp);
  if (Number.isNaN(changedAt))
    return {
      outcome: 'claim_kept',
      reason: `${killed}, and bd does not say when ${now.assignee ?? 'its assignee'} claimed it: check it with bd show ${left.beads_id}`,
    };
  // a bd that keeps its times to the second (no fraction in what it prints) dates a claim taken in
  // the same second as claimed_at up to a second earlier, which is no earlier claim of someone
  // else's: compared to the second then, to the millisecond otherwise
  const claimedAt = Date.parse(left.claimed_at);
  const since = /\.\d/.test(stamp) ? claimedAt : claimedAt - (claimedAt % BD_SECOND_MS);
  if (changedAt < since)
    return {
      outcome: 'claim_moved_on',
      reason: `${killed}, and ${now.assignee ?? 'someone'} had claimed it before (${now.updated_at}): left as it is`,
    };
  return undefined;
}
