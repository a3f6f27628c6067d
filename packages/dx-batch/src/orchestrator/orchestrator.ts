import fs from 'node:fs';
import path from 'node:path';
import {
  AFTER_FREEZE_SETTLE_MS,
  BaselineGateOutputSchema,
  certainlyBefore,
  DxError,
  DxRunnerError,
  endedBySignal,
  ExitCode,
  FreezeClock,
  freezeGapMs,
  ItemWorktreeGateOutputSchema,
  resolveItemWorktree,
  type ItemWorktree,
  readFileIfExists,
  timerPeriod,
  writeFileAtomic,
  type BdClient,
  type BeadsIssue,
  type CheckOutput,
  type DxRunnerClient,
  type HostClock,
  type JobEndWatch,
  type JobReport,
  type Policy,
} from '@dx/core';
import { extractImplementContract, extractReviewContract, type ContractEvidence } from '../contracts/extract.js';
import { implementPrompt, reviewPrompt } from '../contracts/prompts.js';
import type { ImplementContract } from '../contracts/schemas.js';
import { acquireAttemptLease, releaseAttemptLease, releaseItemLease } from '../leases/item-leases.js';
import type { WaveLock } from '../leases/wave-lock.js';
import { appendLedger, readLedger, reconcileLedger, type LedgerRecord } from '../ledger/ledger.js';
import type { ProgressView } from '../reports/view.js';
import type { WavePaths } from '../waves/paths.js';
import {
  budgetSpent,
  hostsOfWave,
  isTerminalItem,
  tokensSpent,
  writeWave,
  type Item,
  type WaveState,
} from '../waves/state.js';
import { setWaveStatus } from '../waves/status.js';
import {
  isQueued,
  isRunning,
  jobBeadsFor,
  phaseOf,
  STATUS_OF,
  transition,
  type AttemptResult,
  type ItemEvent,
  type MachineContext,
  type Phase,
} from './machine.js';
import { lostJobFate } from './lost-jobs.js';
import { BoundedHostCalls, waitAtMost } from './host-calls.js';
import { PendingStarts, type PendingStart } from './starts.js';
import { countLiveProcesses } from './saturation.js';
import { isHostFailure, rankHosts, type WaveHosts } from '../fleet/hosts.js';
import type { HostRecord, LostJob } from '../waves/state.js';

export interface OrchestratorDeps {
  paths: WavePaths;
  /** This machine's dx-runner (saturation, pruning). */
  client: DxRunnerClient;
  /** Every host's dx-runner: each job is asked about on the host it runs on. */
  hosts: WaveHosts;
  policy: Policy;
  lock: WaveLock;
  view: ProgressView;
  bd?: BdClient;
}

const LOG_LINES_FOR_CONTRACT = 400;
/** After a job's outcome appears, how long to let its watcher finish before reading the job. */
const JOB_END_SETTLE_MS = 50;
/** A dx-runner job is an agent process group plus its watcher. */
const PROCESSES_PER_JOB = 2;
/** How often an item's last job, still running after a failed stop, is stopped again before its next start. */
const STOPS_AGAIN_AT_MOST = 3;

/** The owner dx-batch gives dx-runner for the jobs of a wave (they are held until the wave is over). */
export function waveOwner(waveId: string): string {
  return `dx-batch:${waveId}`;
}

/**
 * Runs a wave: a loop that turns dx-runner's answers into item events, lets the state machine
 * (machine.ts) decide, and carries out its effects in one place. Each transition is appended to
 * the item's ledger (flushed) before the wave state records it, and every write first proves this
 * orchestrator still holds the wave (fencing), so a killed-and-resumed wave neither loses nor
 * repeats an item.
 */
export class Orchestrator {
  private pausing = false;
  /** Calls to hosts, each waited for at most a poll interval (2 s at least) per cycle. */
  private readonly hostCalls = new BoundedHostCalls(() => this.hostWaitMs());
  /** dx-runner starts whose answers the wave has not applied yet (waited for as long as host calls). */
  private readonly starts = new PendingStarts();
  /** Per item: why it last waited for a host (said once per change). */
  private readonly waiting = new Map<string, string>();
  /** Per item: the stop of its last job, while it has not ended. */
  private readonly stopsOut = new Map<string, StopOut>();
  /** Per item: the job whose last stop failed (it may still run), and how often it was stopped again. */
  private readonly failedStops = new Map<string, { jobBeads: string; again: number }>();
  /** Hosts that did not give a report in time this cycle. */
  private readonly slowToReport = new Set<string>();
  /** Per running job (`beads NUL attempt`): since when its host answers for others but not for it. */
  private readonly checkFailingSince = new Map<string, number>();
  /** Ends the current wait between cycles early (a pause, a job's end). */
  private wakeUp?: () => void;
  /** One of this wave's local jobs ended since the current cycle began. */
  private jobEnded = false;
  private settle?: NodeJS.Timeout;
  private readonly issues = new Map<string, BeadsIssue | undefined>();
  /** `host NUL beads` → that host's answer about the item's worktree (asked once per run). */
  private readonly worktrees = new Map<string, ItemWorktree>();
  private readonly ctx: MachineContext;
  /** Per item: ledger records its killed predecessor wrote for a transition the wave state never took. */
  private readonly unrecorded = new Map<string, LedgerRecord[]>();

  constructor(
    private readonly deps: OrchestratorDeps,
    private state: WaveState,
  ) {
    for (const item of state.items) {
      const written = readLedger(deps.paths, item.beads_id);
      if (item.ledger_records === null) item.ledger_records = written.length;
      else if (written.length > item.ledger_records)
        this.unrecorded.set(item.beads_id, written.slice(item.ledger_records));
    }
    // a provider is usable when it passed preflight on at least one host the wave may use
    const usableHosts = new Set(state.hosts.filter((h) => h.status !== 'skipped').map((h) => h.host));
    const available = new Set(
      state.preflight
        .filter((p) => p.available && (usableHosts.size === 0 || usableHosts.has(p.host)))
        .map((p) => p.provider),
    );
    const unavailable = new Set(state.preflight.map((p) => p.provider).filter((p) => !available.has(p)));
    const chains: Record<Phase, string[]> = {
      implement: state.config.retry_chain.filter((p) => !unavailable.has(p)),
      review: state.config.review_chain.filter((p) => !unavailable.has(p)),
    };
    this.ctx = {
      maxRevisions: state.config.max_revisions,
      review: state.config.review,
      provider: (phase, failures) => chains[phase][failures],
    };
  }

  get wave(): WaveState {
    return this.state;
  }

  /** SIGINT/SIGTERM: stop after the current step; running jobs keep going and resume adopts them. */
  requestPause(): void {
    this.pausing = true;
    this.wakeUp?.();
  }

  /** The wave's own fields changed (hosts, lost jobs); `snapshot` writes the whole wave. */
  private save(options: { snapshot?: boolean } = {}): void {
    this.deps.lock.fenced(() => this.writeState(options.snapshot ? undefined : []));
  }

  /** Only inside `fenced`. `changed`: the items this write is about (undefined: the whole wave). */
  private writeState(changed: readonly Item[] | undefined): void {
    this.state.token = this.deps.lock.token;
    writeWave(this.deps.paths, this.state, changed);
  }

  private setWave(status: WaveState['status'], reasonCode: string, error: string | null = null): void {
    this.deps.lock.assertHeld();
    setWaveStatus(this.state, status, reasonCode, error);
    // a new status is a snapshot: a finished wave is one file
    this.save({ snapshot: true });
    this.deps.view.event(this.state, `wave ${this.state.wave_id} ${status} (${reasonCode})`);
  }

  /**
   * The one place an item changes: the machine decides, then its effects are carried out — the
   * ledger first (write-ahead), leases, the wave state, and last the jobs dx-runner starts or stops,
   * whose answers come back as the next events.
   */
  private async apply(item: Item, event: ItemEvent): Promise<void> {
    const result = transition(item, event, this.ctx);
    if ('refused' in result) {
      this.deps.view.event(this.state, `${item.beads_id}: ${result.refused}`);
      return;
    }
    const next = result.item;
    const from = item.state;
    const statusChanged = STATUS_OF[from] !== next.status;
    const records = result.effects.flatMap((effect): Omit<LedgerRecord, 'at' | 'wave_id'>[] =>
      effect.type === 'ledger'
        ? [
            {
              beads_id: item.beads_id,
              token: this.deps.lock.token,
              event: effect.event,
              ...(effect.detail as Partial<LedgerRecord>),
              ...(statusChanged ? { from: STATUS_OF[from], to: next.status } : { from: undefined, to: undefined }),
              state: next.state,
            },
          ]
        : [],
    );
    if (isTerminalItem(next) && !next.completed_at) next.completed_at = new Date().toISOString();
    const jobRecord = item.job_beads && item.job_beads !== next.job_beads ? item.job_beads : undefined;
    // one fenced section per transition: no takeover can land between its ledger lines and the state
    this.deps.lock.fenced(() => {
      next.ledger_records = this.writeLedger(item, records);
      for (const effect of result.effects) {
        if (effect.type === 'acquire_attempt_lease')
          acquireAttemptLease(this.deps.paths, item.beads_id, effect.attempt, this.deps.lock.token);
        else if (effect.type === 'release_attempt_lease')
          releaseAttemptLease(this.deps.paths, item.beads_id, effect.attempt, this.deps.lock.token);
        else if (effect.type === 'release_item_lease') releaseItemLease(this.deps.paths, item.beads_id);
      }
      Object.assign(item, next);
      this.writeState([item]);
    });
    if (jobRecord) fs.rmSync(path.join(this.deps.paths.jobs, `${jobRecord}.pid`), { force: true });
    if (from !== item.state) {
      const where =
        item.provider && !isTerminalItem(item) ? ` via ${item.provider}${item.host ? ` on ${item.host}` : ''}` : '';
      this.deps.view.event(
        this.state,
        `${item.beads_id} ${from} → ${item.state}${item.reason_code ? ` (${item.reason_code})` : ''}${where}`,
      );
    }
    for (const effect of result.effects) {
      if (effect.type === 'stop_job') await this.stopJob(item, effect.jobBeads);
      else if (effect.type === 'start_job') this.startJob(item);
    }
  }

  /**
   * Stops an attempt's job, waited for as long as any host call: a stop lasts up to the kill grace
   * (an agent that ignores SIGTERM), longer on a host that hangs, and it held every other item of
   * the cycle meanwhile. One still out keeps its item from its next attempt (the old agent may
   * still be in the worktree) and its slot taken; the wave's end waits for it.
   */
  private async stopJob(item: Item, jobBeads: string): Promise<void> {
    const out: StopOut = {
      host: item.host ?? 'local',
      jobBeads,
      done: this.clientOf(item)
        .stop(jobBeads)
        .then(
          () => {
            this.failedStops.delete(item.beads_id);
          },
          // the next attempt's start refuses while the old job still runs: say why here
          (err: Error) => {
            const failed = this.failedStops.get(item.beads_id);
            this.failedStops.set(item.beads_id, {
              jobBeads,
              again: failed?.jobBeads === jobBeads ? failed.again : 0,
            });
            this.deps.view.event(
              this.state,
              `${item.beads_id}: the stop of its last job, ${jobBeads} on ${item.host ?? 'local'}, failed: ${err.message}`,
            );
          },
        ),
    };
    this.stopsOut.set(item.beads_id, out);
    void out.done.then(() => {
      if (this.stopsOut.get(item.beads_id) === out) this.stopsOut.delete(item.beads_id);
    });
    await waitAtMost(out.done, this.hostWaitMs());
  }

  /** Waits for every stop still out. */
  private async stopsSettled(): Promise<void> {
    await Promise.all([...this.stopsOut.values()].map((s) => s.done));
  }

  /**
   * Only inside `fenced`: appends an item's records (write-ahead of its state) and answers how many
   * its ledger holds now. Records a killed predecessor wrote ahead are settled by the item's next
   * transition that writes any.
   */
  private writeLedger(item: Item, records: Omit<LedgerRecord, 'at' | 'wave_id'>[]): number {
    const unrecorded = records.length > 0 ? this.unrecorded.get(item.beads_id) : undefined;
    const append = unrecorded ? reconcileLedger(unrecorded, records, this.deps.lock.token) : records;
    for (const record of append) appendLedger(this.deps.paths, record);
    if (unrecorded) this.unrecorded.delete(item.beads_id);
    return (item.ledger_records ?? 0) + (unrecorded?.length ?? 0) + append.length;
  }

  async run(): Promise<WaveState> {
    const interval = this.state.config.poll_interval_sec * 1000;
    // a cycle far later than its interval was frozen with the jobs (a suspend, a paused VM): their
    // watchers record that time as neither stall nor runtime, and are given a moment to do it first
    const freeze = new FreezeClock(interval, freezeGapMs());
    const jobEnds = this.watchJobEnds();
    try {
      for (;;) {
        const late = freeze.tick();
        if (late > 0) {
          this.deps.view.event(
            this.state,
            `cycle ${Math.round(late / 1000)}s late (a suspend, a paused VM or a long call): the watchers record a freeze first`,
          );
          await new Promise((resolve) => setTimeout(resolve, AFTER_FREEZE_SETTLE_MS));
        }
        if (this.pausing) {
          // what the starts still out launched is on record before the wave says paused, and
          // the jobs being stopped have ended
          await this.starts.wait();
          await this.stopsSettled();
          await this.applyStartAnswers();
          this.setWave('paused', 'wave_paused_signal');
          return this.state;
        }
        // an end heard from here on is read by this cycle or wakes the next one
        this.jobEnded = false;
        this.slowToReport.clear();
        this.deps.lock.renew();
        this.pruneJobRecords();
        await this.probeDownHosts();
        await this.followLostJobs();
        await this.applyStartAnswers();
        await this.pollActive();
        // a job ended by a full disk stopped the wave
        if (this.state.status !== 'running') return this.state;
        if (this.state.items.every(isTerminalItem)) {
          this.setWave('completed', 'wave_completed');
          return this.state;
        }
        if (budgetSpent(this.state)) {
          // a budget spent starts nothing more; the jobs still running may finish
          if (!this.state.items.some(isRunning) && this.stopsOut.size === 0) {
            this.setWave('paused', 'token_budget_spent', this.budgetWords());
            return this.state;
          }
        } else if (!(await this.launchReady())) return this.state;
        const stranded = this.strandedOnDownHosts();
        if (stranded) {
          this.setWave(
            'failed',
            'no_host_available',
            `${stranded}; run dx-batch resume --wave-id ${this.state.wave_id} once one is back`,
          );
          return this.state;
        }
        this.deps.view.render(this.state);
        jobEnds.refresh();
        await this.waitForNextCycle(interval);
      }
    } finally {
      jobEnds.close();
      clearTimeout(this.settle);
      // a wave that stops with starts out (a full disk, a lost lock) records what they launched
      // where it still can; a resumed wave finds the rest by their jobs
      await this.starts.wait();
      await this.stopsSettled();
      await this.applyStartAnswers().catch((err: Error) =>
        this.deps.view.event(this.state, `the answers of starts still out were not recorded: ${err.message}`),
      );
    }
  }

  /**
   * The local jobs' ends as file events (when this process reads this machine's dx-runner state
   * in-process): an end of one of this wave's running jobs wakes the wait between cycles, so an
   * item's next phase starts at once instead of up to a whole poll interval later. Events only
   * wake the loop, which then reads every job as usual; a missed one costs one interval, as does
   * any job on a fleet host or under another dx-runner.
   */
  private watchJobEnds(): JobEndWatch {
    return this.deps.hosts.client(null).watchJobEnds((beads) => {
      const ours = this.active().some(
        (i) => (i.host ?? 'local') === 'local' && (beads === null || i.job_beads === beads),
      );
      if (!ours) return;
      this.jobEnded = true;
      // a job's end writes several files: read once they are all there
      this.settle ??= setTimeout(() => {
        this.settle = undefined;
        this.wakeUp?.();
      }, JOB_END_SETTLE_MS);
    });
  }

  /** The poll interval, cut short by a pause or by the end of one of this wave's local jobs. */
  private async waitForNextCycle(intervalMs: number): Promise<void> {
    if (this.pausing || this.jobEnded) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, timerPeriod(intervalMs));
      this.wakeUp = done;
    });
  }

  /**
   * Cancel (run with a lock taken by force, which fences any running orchestrator): every
   * unfinished item becomes CANCELLED (its running job is stopped), and the wave cancelled.
   */
  async cancel(): Promise<{ cancelled: string[]; stopped: string[] }> {
    const stopped = this.active().map((i) => i.job_beads!);
    const cancelled: string[] = [];
    for (const item of this.state.items) {
      if (isTerminalItem(item)) continue;
      await this.apply(item, { type: 'cancel', at: new Date().toISOString() });
      cancelled.push(item.beads_id);
    }
    await this.stopsSettled();
    this.setWave('cancelled', 'wave_cancelled');
    return { cancelled, stopped };
  }

  /** The wave is over for good: dx-runner's retention may now remove its jobs. */
  async releaseJobs(): Promise<void> {
    if (this.state.status !== 'completed' && this.state.status !== 'cancelled') return;
    for (const host of hostsOfWave(this.state))
      await this.deps.hosts
        .client(host)
        .release(waveOwner(this.state.wave_id))
        .catch(() => undefined);
  }

  private clientOf(item: Item): DxRunnerClient {
    return this.deps.hosts.client(item.host);
  }

  private hostRecord(host: string | null): HostRecord | undefined {
    return this.state.hosts.find((h) => h.host === (host ?? 'local'));
  }

  /**
   * An item that can go nowhere yet says so, once per change of why: a wave whose items sat queued
   * for hours said nothing of the hosts they waited for.
   */
  private noteWaiting(item: Item, provider: string, answer?: string): void {
    if (this.state.hosts.length === 0) return;
    const running = this.runningPerHost();
    const runners = this.state.hosts
      .filter((h) => h.providers.includes(provider))
      .map((h) =>
        h.status === 'up' ? `${h.host} ${running.get(h.host) ?? 0}/${h.max_parallel}` : `${h.host} ${h.status}`,
      );
    this.sayWaiting(item, answer ?? `a host (${provider} on ${runners.join(', ') || 'no host'})`);
  }

  private sayWaiting(item: Item, why: string): void {
    if (this.waiting.get(item.beads_id) === why) return;
    this.waiting.set(item.beads_id, why);
    this.deps.view.event(this.state, `${item.beads_id} waits for ${why}`);
  }

  /** Live attempts of this wave per host. */
  private runningPerHost(): Map<string, number> {
    const running = new Map<string, number>();
    for (const item of this.active()) running.set(item.host ?? 'local', (running.get(item.host ?? 'local') ?? 0) + 1);
    // a job being stopped holds its slot until it has ended
    for (const { host } of this.stopsOut.values()) running.set(host, (running.get(host) ?? 0) + 1);
    return running;
  }

  /**
   * A call to a job's host failed for the host's sake (ssh 255, no answer): the host is down, its
   * attempts wait with their leases; past the grace period they are given up and queued again.
   */
  private async hostSilent(host: string, err: unknown): Promise<void> {
    const record = this.hostRecord(host);
    if (!record) return;
    const at = new Date().toISOString();
    const e = err as { reasonCode?: string; message?: string };
    if (record.status !== 'down') {
      Object.assign(record, {
        status: 'down',
        down_since: at,
        reason_code: e.reasonCode ?? 'host_unreachable',
        error: e.message ?? String(err),
        checked_at: at,
      });
      this.save();
      this.deps.view.event(
        this.state,
        `host ${host} stopped answering (${record.reason_code}); its attempts wait up to ${this.deps.policy.fleet.hostDownGraceMinutes} min`,
      );
    }
    const waiting = this.active().filter((i) => (i.host ?? 'local') === host);
    for (const item of waiting)
      if (item.reason_code !== 'host_unreachable')
        await this.apply(item, { type: 'host_unreachable', detail: record.error ?? 'host unreachable', at });
    if (!this.pastHostGrace(Date.parse(record.down_since ?? at))) return;
    for (const item of this.active().filter((i) => (i.host ?? 'local') === host)) {
      this.state.lost_jobs.push({
        beads_id: item.beads_id,
        host,
        job_beads: item.job_beads!,
        run_instance: item.run_instance,
        attempt: item.attempt,
        requested_at: item.job_requested_at,
        lost_at: at,
      });
      await this.apply(item, { type: 'host_lost', detail: `host ${host} silent since ${record.down_since}`, at });
    }
  }

  private hostAnswered(host: string | null): void {
    const record = this.hostRecord(host);
    if (!record || record.status !== 'down') return;
    Object.assign(record, {
      status: 'up',
      down_since: null,
      reason_code: null,
      error: null,
      checked_at: new Date().toISOString(),
    });
    this.save();
    this.deps.view.event(this.state, `host ${record.host} answers again`);
  }

  /** A down host with nothing left to ask about is probed once a cycle, so it can be used again. */
  private async probeDownHosts(): Promise<void> {
    // a host with only lost jobs there is probed too: a lost job its dx-runner cannot report on
    // would otherwise keep the host down for good
    const asked = new Set(this.active().map((i) => i.host ?? 'local'));
    for (const record of this.state.hosts.filter((h) => h.status === 'down' && !asked.has(h.host))) {
      const probe = await this.hostCalls.get(`probe:${record.host}`, () =>
        this.deps.hosts.client(record.host).status(),
      );
      if (probe?.ok) this.hostAnswered(record.host);
      // else still down (unreachable, or its dx-runner still failing), or not answering yet
      else if (probe && !isHostFailure(probe.err) && !(probe.err instanceof DxRunnerError)) throw probe.err;
    }
  }

  /**
   * Jobs given up with their host: once the host answers, a late result is recorded in the
   * ledger as superseded (never applied) and a job still running there is stopped (dx-runner on
   * that host proves its identity before signalling).
   */
  private async followLostJobs(): Promise<void> {
    for (const lost of [...this.state.lost_jobs]) {
      const client = this.deps.hosts.client(lost.host);
      let detail: string;
      let event: string;
      const asked = await this.hostCalls.get(`lost:${lost.host}:${lost.job_beads}`, () =>
        client.checkMany([lost.job_beads]),
      );
      if (!asked) continue; // its host has not answered yet
      try {
        if (!asked.ok) throw asked.err;
        const { jobs, clock } = asked.value;
        const view = jobs[0];
        if (!view) throw jobNotFound(lost.job_beads);
        this.hostAnswered(lost.host);
        const fate = lostJobFate(lost, view, clock);
        if (fate === 'another_job') {
          event = 'superseded_job_gone';
          detail = `host ${lost.host}: ${lost.job_beads} there is another attempt's job (${view.run_instance}), not this one's`;
        } else if (fate === 'still_running') {
          await client.stop(lost.job_beads);
          event = 'superseded_job_stopped';
          detail = `host ${lost.host}: the job was still running; stopped`;
        } else {
          event = 'superseded_result';
          detail = `host ${lost.host}: ${view.state} (${view.reason_code ?? '-'}), not applied`;
        }
      } catch (err) {
        // not answerable yet (the host, or its dx-runner failing): asked again next cycle
        if (isHostFailure(err) || (err instanceof DxRunnerError && !isJobNotFound(err))) continue;
        if (!isJobNotFound(err)) throw err;
        event = 'superseded_job_gone';
        detail = `host ${lost.host}: no record of ${lost.job_beads} any more`;
      }
      this.supersede(lost, event, detail);
    }
  }

  private supersede(lost: LostJob, event: string, detail: string): void {
    const item = this.state.items.find((i) => i.beads_id === lost.beads_id);
    const record = {
      beads_id: lost.beads_id,
      token: this.deps.lock.token,
      event,
      attempt: lost.attempt,
      job_beads: lost.job_beads,
      run_instance: lost.run_instance,
      host: lost.host,
      detail,
    };
    this.state.lost_jobs = this.state.lost_jobs.filter((l) => l !== lost);
    this.deps.lock.fenced(() => {
      if (item) item.ledger_records = this.writeLedger(item, [record]);
      else appendLedger(this.deps.paths, record);
      this.writeState(item ? [item] : []);
    });
    this.deps.view.event(this.state, `${lost.beads_id} attempt ${lost.attempt}: ${detail}`);
  }

  /**
   * Nothing of the wave runs and every queued item waits for hosts that have all been down past the
   * grace period: the wave would wait for good (all night, under cron). Why, or undefined while
   * anything may yet move. The wave fails resumably; its items keep their state.
   */
  private strandedOnDownHosts(): string | undefined {
    if (this.state.hosts.length === 0 || this.active().length > 0 || this.stopsOut.size > 0) return undefined;
    const queued = this.state.items.filter(isQueued);
    const providers = new Set(
      queued.map((item) => {
        const phase = phaseOf(item.state);
        return this.ctx.provider(phase, phase === 'implement' ? item.implement_failures : item.review_failures);
      }),
    );
    if (queued.length === 0 || providers.has(undefined)) return undefined;
    const needed = this.state.hosts.filter((h) => [...providers].some((p) => p && h.providers.includes(p)));
    const downLong = (h: HostRecord) => h.status === 'down' && this.pastHostGrace(Date.parse(h.down_since ?? ''));
    if (needed.length === 0 || !needed.every(downLong)) return undefined;
    return `every host that runs ${[...providers].join(', ')} has been down for more than ${this.deps.policy.fleet.hostDownGraceMinutes} min (${needed.map((h) => `${h.host} since ${h.down_since}: ${h.reason_code}`).join('; ')})`;
  }

  private budgetWords(): string {
    const { wave_id: id, config } = this.state;
    return `the wave's attempts spent ${tokensSpent(this.state)} tokens of its budget of ${config.max_tokens} (--max-tokens): no attempt starts; to go on, dx-batch resume --wave-id ${id} --max-tokens <more>`;
  }

  private active(): Item[] {
    return this.state.items.filter((i) => isRunning(i) && i.job_beads);
  }

  /**
   * Start queued work while fewer than max_parallel items run; false when the wave had to stop. The
   * items are dispatched in order (slots, hosts and the ledger decided one by one), and the dx-runner
   * starts they ask for then run side by side: each answer is applied as it arrives.
   */
  private async launchReady(): Promise<boolean> {
    let carryOn: boolean;
    try {
      carryOn = await this.dispatchReady();
    } finally {
      // the starts asked for (this cycle's, and earlier ones still out), each side by side
      await this.starts.wait(this.hostWaitMs());
      await this.applyStartAnswers();
    }
    // a start may have stopped the wave (disk_low)
    return carryOn && this.state.status === 'running';
  }

  /** How long a cycle waits for a host's answer before it goes on without it. */
  private hostWaitMs(): number {
    return Math.max(this.state.config.poll_interval_sec * 1000, MIN_HOST_WAIT_MS);
  }

  private async dispatchReady(): Promise<boolean> {
    // counted once per cycle; each job this cycle starts adds its agent and its watcher
    let live: number | undefined;
    for (const item of this.state.items.filter(isQueued)) {
      if (this.pausing || this.active().length + this.stopsOut.size >= this.state.config.max_parallel) break;
      const stopping = this.stopsOut.get(item.beads_id);
      if (stopping) {
        this.sayWaiting(item, `the stop of its last job, ${stopping.jobBeads} on ${stopping.host}`);
        continue;
      }
      const phase = phaseOf(item.state);
      const provider = this.ctx.provider(phase, phase === 'implement' ? item.implement_failures : item.review_failures);
      // nothing to launch for this item now (every host of its provider is full or down): the next one may fit
      if (provider && !(await this.hostFor(item, provider, phase))) {
        this.noteWaiting(item, provider);
        continue;
      }
      live =
        live === undefined
          ? await countLiveProcesses(this.deps.client, this.deps.paths, this.state.config.lease_ttl_minutes)
          : live + PROCESSES_PER_JOB;
      if (live > this.state.config.exec_process_cap) {
        this.setWave(
          'failed',
          'exec_saturation',
          `exec_saturation: live_processes=${live} cap=${this.state.config.exec_process_cap}; run dx-runner prune and dx-batch doctor before retrying`,
        );
        return false;
      }
      await this.dispatch(item);
      if (this.state.status !== 'running') return false;
    }
    return true;
  }

  private async issue(beads: string): Promise<BeadsIssue | undefined> {
    if (!this.issues.has(beads))
      this.issues.set(beads, this.deps.bd ? await this.deps.bd.show(beads).catch(() => undefined) : undefined);
    return this.issues.get(beads);
  }

  /**
   * Where the item's next attempt of `provider` runs; undefined while every suitable host is full
   * or down; for a review no host of the wave can ever give this provider, why (the chain moves on).
   */
  private async hostFor(
    item: Item,
    provider: string,
    phase: Phase,
  ): Promise<string | { reasonCode: string; detail: string } | undefined> {
    if (this.state.hosts.length === 0) return 'local';
    const running = this.runningPerHost();
    const implementHost = [...item.attempts].reverse().find((a) => a.phase === 'implement')?.host;
    if (phase !== 'review' || !implementHost) return rankHosts(this.state.hosts, provider, running)[0];
    // a review runs where its implement ran (that host has the commit) while that host is usable
    const home = this.hostRecord(implementHost);
    if (home && home.status === 'up' && home.providers.includes(provider))
      return rankHosts(this.state.hosts, provider, running, home.host)[0];
    // elsewhere only on a host whose worktree has the implement's commit (asked, never assumed)
    const homeNeverRuns = home?.status === 'up' && !home.providers.includes(provider);
    if (!item.implement_head || !item.worktree)
      return homeNeverRuns
        ? {
            reasonCode: 'no_host_for_review',
            detail: `${provider} does not run on ${home.host}, where the implement ran, and the implement's commit is not known to ask another host for it`,
          }
        : undefined;
    const free = rankHosts(this.state.hosts, provider, running);
    const runners = this.state.hosts
      .filter((h) => h.status === 'up' && h.providers.includes(provider))
      .map((h) => h.host);
    let mayYet = false;
    for (const host of [...free, ...runners.filter((h) => !free.includes(h))]) {
      const there = await this.hasCommit(host, item.worktree, item.implement_head);
      if (there && free.includes(host)) return host;
      // a busy host that has it, or one that has not answered: a slot or an answer may come
      if (there !== false) mayYet = true;
    }
    // its implement's host is up and will never run this provider (a wave's providers are fixed at
    // its start), and every host that runs it said its worktree lacks the commit: waiting would be
    // for good
    if (homeNeverRuns && !mayYet)
      return {
        reasonCode: 'no_host_for_review',
        detail: `${provider} does not run on ${home.host}, where the implement ran, and no host of the wave that runs it has the implement's commit ${item.implement_head.slice(0, 12)} in its worktree (asked: ${runners.join(', ') || 'none'})`,
      };
    return undefined;
  }

  /** Whether the host's worktree has the commit: undefined while the host has not answered (or could not). */
  private async hasCommit(host: string, worktree: string, commit: string): Promise<boolean | undefined> {
    const asked = await this.hostCalls.get(`commit:${host}\u0000${worktree}\u0000${commit}`, () =>
      this.deps.hosts
        .client(host)
        .call(
          ['baseline-gate', '--worktree', worktree, '--required-baseline', commit],
          BaselineGateOutputSchema,
          [0, 1],
        ),
    );
    if (!asked?.ok) return undefined;
    return asked.value.exitCode === 0 && asked.value.data.passed;
  }

  private async dispatch(item: Item): Promise<void> {
    const at = new Date().toISOString();
    const phase = phaseOf(item.state);
    const provider = this.ctx.provider(phase, phase === 'implement' ? item.implement_failures : item.review_failures);
    if (!provider) return this.apply(item, { type: 'chain_exhausted', at });
    if (phase === 'review') {
      // a review works in its implement's worktree, on a host that has its commit
      const host = await this.hostFor(item, provider, phase);
      if (host && typeof host === 'object') return this.apply(item, { type: 'provider_skipped', ...host, at });
      if (!host || !item.worktree) return this.noteWaiting(item, provider);
      this.waiting.delete(item.beads_id);
      return this.apply(item, { type: 'dispatch', provider, host, worktree: item.worktree, at });
    }
    const placed = await this.placeImplement(item, provider);
    // every host that runs this provider and has the worktree is full or down: the item waits for a slot
    if (!placed || 'waiting' in placed) return this.noteWaiting(item, provider, placed?.waiting);
    if ('reasonCode' in placed) return this.apply(item, { type: 'unworkable', ...placed, at });
    this.waiting.delete(item.beads_id);
    return this.apply(item, { type: 'dispatch', provider, host: placed.host, worktree: placed.worktree, at });
  }

  /**
   * The host an implement attempt goes to: among the hosts with the provider and a free slot, least
   * loaded first, the first whose own disk has the item's worktree (each host is asked, never assumed).
   * Undefined while only busy hosts have it; no host with the worktree at all makes the item unworkable.
   */
  private async placeImplement(
    item: Item,
    provider: string,
  ): Promise<
    { host: string; worktree: string } | { reasonCode: string; detail: string } | { waiting: string } | undefined
  > {
    if (this.state.hosts.length === 0) {
      const wt = await this.worktreeOn('local', item);
      return wt.ok ? { host: 'local', worktree: wt.worktree } : { reasonCode: wt.reasonCode, detail: wt.detail };
    }
    const free = rankHosts(this.state.hosts, provider, this.runningPerHost());
    const silent: string[] = [];
    for (const host of free) {
      const wt = await this.worktreeOn(host, item);
      if (wt.ok) return { host, worktree: wt.worktree };
      if (wt.reasonCode === 'host_unreachable') silent.push(wt.detail);
    }
    // a free host that has not answered may have it: that answer is what the item waits for
    if (silent.length > 0) return { waiting: `an answer about its worktree (${silent.join('; ')})` };
    const busy = this.state.hosts
      .filter((h) => h.status === 'up' && h.providers.includes(provider) && !free.includes(h.host))
      .map((h) => h.host);
    for (const host of busy) if ((await this.worktreeOn(host, item)).ok) return undefined;
    const asked = [...free, ...busy];
    if (asked.length === 0) return undefined;
    const answers = await Promise.all(asked.map(async (host) => ({ host, wt: await this.worktreeOn(host, item) })));
    const refusals = answers.map((a) => a.wt).filter((wt): wt is Extract<ItemWorktree, { ok: false }> => !wt.ok);
    // a host that could not answer may have it: wait for it rather than give the item up
    const unanswered = refusals.filter((r) => r.reasonCode === 'host_unreachable');
    if (unanswered.length > 0)
      return { waiting: `an answer about its worktree (${unanswered.map((r) => r.detail).join('; ')})` };
    const first = refusals[0];
    return {
      reasonCode: first.reasonCode,
      detail: answers.map((a) => `${a.host}: ${a.wt.ok ? 'ok' : a.wt.detail}`).join('; '),
    };
  }

  /** The item's worktree on one host's disk, asked once per host for this run of the orchestrator. */
  private async worktreeOn(host: string, item: Item): Promise<ItemWorktree> {
    const key = `${host}\u0000${item.beads_id}`;
    const known = this.worktrees.get(key);
    if (known) return known;
    let answer: ItemWorktree;
    if (host === 'local') {
      answer = resolveItemWorktree(this.state.config.worktree_base, item.beads_id, this.deps.policy);
    } else {
      // a host that hangs holds up the cycle no longer than its status would (see BoundedHostCalls)
      const asked = await this.hostCalls.get(`worktree:${key}`, () =>
        this.deps.hosts
          .client(host)
          .call(
            ['worktree-gate', '--beads', item.beads_id, '--base', this.state.config.worktree_base],
            ItemWorktreeGateOutputSchema,
            [0, 1],
          ),
      );
      // a host that cannot answer now (or not yet) is not a host without the worktree: ask again
      // next cycle
      if (!asked) return { ok: false, reasonCode: 'host_unreachable', detail: `${host}: no answer yet` };
      if (!asked.ok)
        return { ok: false, reasonCode: 'host_unreachable', detail: `${host}: ${(asked.err as Error).message}` };
      const { data } = asked.value;
      answer =
        data.passed && data.worktree
          ? { ok: true, worktree: data.worktree }
          : { ok: false, reasonCode: data.reason_code, detail: `${data.details} (on ${host})` };
    }
    this.worktrees.set(key, answer);
    return answer;
  }

  private promptFile(item: Item): string {
    return path.join(this.deps.paths.prompts, `${item.beads_id}.${item.phase}.attempt${item.attempt}.prompt`);
  }

  /** The attempt's prompt, written once: a resumed wave hands the same text to a relaunched job. */
  private async writePrompt(item: Item): Promise<string> {
    const file = this.promptFile(item);
    if (fs.existsSync(file)) return file;
    fs.mkdirSync(this.deps.paths.prompts, { recursive: true, mode: 0o700 });
    const extra = this.state.config.prompt_file ? readFileIfExists(this.state.config.prompt_file) : undefined;
    const issue = await this.issue(item.beads_id);
    const text =
      item.phase === 'review'
        ? reviewPrompt({
            waveId: this.state.wave_id,
            beadsId: item.beads_id,
            attempt: item.attempt,
            issue,
            implement: item.implement_summary ? (JSON.parse(item.implement_summary) as ImplementContract) : null,
          })
        : implementPrompt({
            waveId: this.state.wave_id,
            beadsId: item.beads_id,
            attempt: item.attempt,
            issue,
            extra,
            reviewFindings: item.review_findings,
          });
    // whole or absent: a prompt that exists is reused by a resumed wave, so a write cut short by a
    // kill must never be found there (it would be refused as empty, or run cut off)
    writeFileAtomic(file, text, 0o600);
    return file;
  }

  /**
   * Ask dx-runner to run the item's current attempt; its answer, applied by a later step of the
   * cycle (applyStartAnswers), is the next event.
   */
  private startJob(item: Item): void {
    const local = (item.host ?? 'local') === 'local';
    const request = {
      beads: item.job_beads!,
      provider: item.provider!,
      worktree: item.worktree!,
      // the policy file is this machine's; a host reads its own
      policy: local ? (this.state.config.policy_file ?? undefined) : undefined,
      owner: waveOwner(this.state.wave_id),
      // a review changes nothing by design: success is exited_ok, not no_op
      expectNoChanges: item.phase === 'review',
    };
    const client = this.clientOf(item);
    const where = {
      beadsId: item.beads_id,
      attempt: item.attempt,
      jobBeads: item.job_beads!,
      host: item.host ?? 'local',
    };
    this.starts.begin(where, async () => {
      const promptFile = await this.writePrompt(item);
      // another host cannot read our files: the prompt goes on the SSH channel's stdin
      return client.start({
        ...request,
        ...(local ? { promptFile } : { prompt: fs.readFileSync(promptFile, 'utf8') }),
      });
    });
  }

  /** The starts answered since the last call, each applied to its item (in the order they were asked). */
  private async applyStartAnswers(): Promise<void> {
    for (const start of this.starts.takeAnswered()) {
      const item = this.state.items.find((i) => i.beads_id === start.beadsId)!;
      await this.applyStartAnswer(item, start);
    }
  }

  private async applyStartAnswer(item: Item, start: PendingStart): Promise<void> {
    const { at } = start;
    const answer = start.answer!;
    // given up while its start was out (its host lost past the grace, the wave cancelled): a job
    // the start launched all the same is followed as lost, so it is stopped once its host answers
    if (!isRunning(item) || item.attempt !== start.attempt || item.job_beads !== start.jobBeads) {
      if (answer.ok) {
        const known = this.state.lost_jobs.find(
          (l) => l.host === start.host && l.job_beads === start.jobBeads && l.attempt === start.attempt,
        );
        if (known) known.run_instance = answer.value.run_instance;
        else
          this.state.lost_jobs.push({
            beads_id: item.beads_id,
            host: start.host,
            job_beads: start.jobBeads,
            run_instance: answer.value.run_instance,
            attempt: start.attempt,
            requested_at: start.at,
            lost_at: new Date().toISOString(),
          });
        this.save();
      }
      return;
    }
    if (answer.ok) {
      const started = answer.value;
      fs.mkdirSync(this.deps.paths.jobs, { recursive: true, mode: 0o700 });
      fs.writeFileSync(
        path.join(this.deps.paths.jobs, `${item.job_beads}.pid`),
        `${JSON.stringify({ pid: started.pid, watcher_pid: started.watcher_pid, run_instance: started.run_instance })}\n`,
        { mode: 0o600 },
      );
      await this.apply(item, { type: 'job_started', runInstance: started.run_instance, at });
      return;
    }
    const err = answer.err;
    // a start that did not answer within the call's timeout is a host gone silent too (its
    // dx-runner hangs): counted as the provider's failure, the next attempt met the job it may
    // have launched all the same (job_already_running), and nobody stopped that job
    const unanswered = err instanceof DxRunnerError && err.reasonCode === 'dx_runner_timeout';
    if (isHostFailure(err) || unanswered) {
      // the host went silent before it answered: give the slot back; the attempt runs elsewhere
      await this.hostSilent(item.host ?? 'local', err);
      if (isRunning(item)) {
        // a call cut off mid-way may have launched the job there all the same: follow it as lost,
        // so it is stopped (or its result recorded as superseded) once the host answers
        if (item.job_beads && (unanswered || (err as { reasonCode?: string }).reasonCode === 'host_unreachable'))
          this.state.lost_jobs.push({
            beads_id: item.beads_id,
            host: item.host ?? 'local',
            job_beads: item.job_beads,
            run_instance: null,
            attempt: item.attempt,
            requested_at: item.job_requested_at,
            lost_at: new Date().toISOString(),
          });
        await this.apply(item, {
          type: 'job_deferred',
          reasonCode: (err as { reasonCode: string }).reasonCode,
          detail: (err as Error).message,
          at,
        });
      }
      return;
    }
    if (!(err instanceof DxRunnerError)) throw err;
    // ended by a signal before it answered (a Ctrl-C reaches the whole foreground group, cron's
    // timeout the whole group): no failure of the provider's; the wave is pausing, and the next
    // start of the attempt finds what an unfinished launch left (launch_incomplete)
    if (endedBySignal(err)) {
      await this.apply(item, { type: 'job_deferred', reasonCode: 'start_interrupted', detail: err.message, at });
      return;
    }
    // the item's last job still runs because its stop failed (a host that hung, a dx-runner that
    // could not stop it): no failure of this attempt's provider, and that agent must not run on
    // unseen. It is stopped again and the attempt waits for it, a few times; then the refusal
    // counts as the attempt's failure as any other.
    const failedStop = this.failedStops.get(item.beads_id);
    if (
      err.reasonCode === 'job_already_running' &&
      failedStop?.jobBeads === start.jobBeads &&
      failedStop.again < STOPS_AGAIN_AT_MOST
    ) {
      failedStop.again += 1;
      await this.apply(item, {
        type: 'job_deferred',
        reasonCode: err.reasonCode,
        detail: `its last job, ${start.jobBeads}, still runs after a failed stop; stopping it again (${failedStop.again}/${STOPS_AGAIN_AT_MOST})`,
        at,
      });
      await this.stopJob(item, start.jobBeads);
      return;
    }
    const outOfRoom = err.reasonCode === 'disk_low' || err.reasonCode === 'disk_full';
    if (err.reasonCode === 'provider_concurrency_cap_exceeded' || err.reasonCode === 'lock_timeout' || outOfRoom) {
      // not this attempt's fault: give the slot back and try again later
      await this.apply(item, { type: 'job_deferred', reasonCode: err.reasonCode, detail: err.message, at });
      // nothing can run until space is freed: stop the wave where it is (resume later)
      if (outOfRoom) this.setWave('failed', err.reasonCode, err.message);
      return;
    }
    await this.apply(item, {
      type: 'attempt_failed',
      error: err.message,
      stopJob: false,
      result: { ...noReport(at), result: 'start_failed', reasonCode: err.reasonCode },
    });
  }

  /** Stale job records: dispatched jobs this wave no longer waits for. */
  private pruneJobRecords(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.deps.paths.jobs);
    } catch {
      return;
    }
    const active = new Set(this.active().map((i) => `${i.job_beads}.pid`));
    for (const name of names) if (!active.has(name)) fs.rmSync(path.join(this.deps.paths.jobs, name), { force: true });
  }

  /**
   * One `status --beads a,b,…` per host for all of this wave's live jobs there (hosts side by side,
   * each waited for only so long: see BoundedHostCalls); a dx-runner that cannot answer a list
   * (older than this call) is asked job by job. `pending`: the host's answer is not in yet.
   */
  private async checkActive(active: Item[]): Promise<Checked[]> {
    const byHost = new Map<string, Item[]>();
    for (const item of active) byHost.set(item.host ?? 'local', [...(byHost.get(item.host ?? 'local') ?? []), item]);
    const answers = new Map<Item, Checked>();
    await Promise.all(
      [...byHost].map(async ([host, items]) => {
        const settled = await this.hostCalls.get(`status:${host}`, () =>
          this.checkHost(
            host,
            items.map((i) => i.job_beads!),
          ),
        );
        // an answer asked for in an earlier cycle covers the jobs named then
        for (const item of items)
          answers.set(item, settled?.ok ? (settled.value.get(item.job_beads!) ?? PENDING) : PENDING);
      }),
    );
    return active.map((item) => answers.get(item)!);
  }

  /** One host's answer for each of the jobs named (a view with the host's clock, or the error). */
  private async checkHost(host: string, jobs: string[]): Promise<Map<string, Checked>> {
    const client = this.deps.hosts.client(host);
    const answers = new Map<string, Checked>();
    try {
      const { jobs: views, clock } = await client.checkMany(jobs);
      const byBeads = new Map(views.map((j) => [j.beads, j]));
      for (const beads of jobs) {
        const view = byBeads.get(beads);
        answers.set(beads, view ? { view, clock } : { err: jobNotFound(beads) });
      }
      return answers;
    } catch (err) {
      if (isHostFailure(err)) return new Map(jobs.map((beads) => [beads, { err }]));
    }
    await Promise.all(
      jobs.map((beads) =>
        client.checkMany([beads]).then(
          ({ jobs: [view], clock }) => answers.set(beads, view ? { view, clock } : { err: jobNotFound(beads) }),
          (err: unknown) => answers.set(beads, { err }),
        ),
      ),
    );
    // not one of them answered (not even "no such job"): the host's dx-runner is failing (a broken
    // install, a banner in the remote shell's output, a state root it cannot read), and its jobs
    // can no more be followed than a silent host's: it is a host failure, given the same grace,
    // not a retry every cycle forever
    const failures = [...answers.values()].filter((a) => 'err' in a && !isJobNotFound(a.err));
    if (failures.length < jobs.length) return answers;
    // unless a plain status answers: then it is the jobs it cannot report on (one job alone on its
    // host, its records unreadable, once took the whole host down and its item waited for good)
    const answersStatus = await client.status().then(
      () => true,
      () => false,
    );
    if (!answersStatus) {
      const first = (failures[0] as { err: Error }).err.message;
      const failing = new DxError(`host ${host}: its dx-runner does not answer status (${first})`, {
        exitCode: ExitCode.hostFailed,
        reasonCode: 'host_dx_runner_failing',
      });
      for (const beads of jobs) answers.set(beads, { err: failing });
    }
    return answers;
  }

  private async pollActive(): Promise<void> {
    // one status call per host, side by side; the results apply in item order. An item whose
    // start is still out has no job to ask about yet: its start's answer comes first
    const active = this.active().filter((i) => !this.starts.has(i.beads_id));
    const checks = await this.checkActive(active);
    for (const [n, item] of active.entries()) {
      if (this.pausing) return;
      const checked = checks[n];
      const at = new Date().toISOString();
      if (!isRunning(item)) continue; // given up with its host earlier in this cycle
      if ('pending' in checked) continue; // its host has not answered yet: asked again next cycle
      if ('err' in checked) {
        const err = checked.err;
        if (isHostFailure(err)) {
          await this.hostSilent(item.host ?? 'local', err);
          continue;
        }
        if (isJobNotFound(err)) await this.apply(item, { type: 'job_missing', detail: 'no dx-runner job', at });
        else await this.checkFailed(item, err as Error);
        continue;
      }
      this.checkFailingSince.delete(`${item.beads_id}\u0000${item.attempt}`);
      const view = checked.view;
      this.hostAnswered(item.host);
      // an older instance of the same beads id: this attempt's job was requested but never started.
      // Known by its run instance once the start answered; else by its start time, read through the
      // host's clock (a host whose clock is behind ours dates this attempt's own job before its request)
      const thisAttempts = item.run_instance !== null && view.run_instance === item.run_instance;
      if (
        !thisAttempts &&
        item.job_requested_at &&
        view.started_at &&
        certainlyBefore(view.started_at, item.job_requested_at, checked.clock)
      ) {
        await this.apply(item, {
          type: 'job_missing',
          detail: `dx-runner's latest instance started ${view.started_at}, before this attempt`,
          at,
        });
        continue;
      }
      // the `start` that launched it died before the launch was acknowledged (a killed orchestrator
      // starting it in-process): the provider never ran, so this is no failure of the attempt's
      if (view.state === 'exited_err' && view.reason_code === 'launch_incomplete') {
        await this.apply(item, {
          type: 'job_missing',
          detail: 'its launch was cut off before it was acknowledged',
          at,
        });
        continue;
      }
      // ended because the state root filled up under it: no failure of the provider's either, and
      // nothing more can run until space is freed: the wave stops, and its resume relaunches the job
      if (view.state === 'exited_err' && view.reason_code === 'disk_full') {
        await this.apply(item, { type: 'job_missing', detail: 'it was ended when the state root filled up', at });
        this.setWave(
          'failed',
          'disk_full',
          `${item.beads_id}: the job was ended when dx-runner's state root filled up`,
        );
        continue;
      }
      if (!item.run_instance && view.run_instance)
        await this.apply(item, { type: 'job_started', runInstance: view.run_instance, at });
      switch (view.state) {
        case 'launching':
        case 'healthy':
          break;
        case 'stalled':
          await this.applyJudged(item, () => this.failed(item, view, 'stalled', view.reason_code, null, true));
          break;
        case 'blocked':
        case 'exited_err': {
          // an unreadable record proves no end: its agent may run on in the worktree the next
          // attempt works in (dx-runner's stop ends it by its heartbeat, or refuses if nothing runs)
          const mayRun = view.reason_code === 'state_file_corrupt';
          await this.applyJudged(item, () => this.failed(item, view, view.state, view.reason_code, null, mayRun));
          break;
        }
        case 'no_op':
          // still running, getting nowhere (no event, or no change for too long): stopped before the
          // item moves on, or its agent would go on in the worktree the next attempt works in
          if (view.outcome_state === null)
            await this.applyJudged(item, () => this.failed(item, view, 'no_op', view.reason_code, null, true));
          else await this.applyJudged(item, () => this.finished(item, view));
          break;
        case 'exited_ok':
          await this.applyJudged(item, () => this.finished(item, view));
          break;
      }
    }
  }

  /**
   * An ended attempt judged from its job's report (and log tail), applied once its host has
   * answered for it. The calls are bounded like every host call: a host whose dx-runner hangs on a
   * report held every other item of the cycle, on every host, for the call's whole timeout. Until
   * it answers, the item stays as it is and the next cycle looks again (the same call, not a new
   * one).
   */
  private async applyJudged(item: Item, judge: () => Promise<ItemEvent>): Promise<void> {
    const host = item.host ?? 'local';
    const key = `judge:${host}\u0000${item.beads_id}\u0000${item.attempt}`;
    // once a host has kept one item waiting this cycle, its others are not waited for in turn
    const judged = await this.hostCalls.get(key, judge, this.slowToReport.has(host) ? 0 : undefined);
    if (!judged) {
      this.slowToReport.add(host);
      this.sayWaiting(item, `${host}'s report on job ${item.job_beads} (asked; no answer yet)`);
      return;
    }
    if (!judged.ok) throw judged.err;
    this.waiting.delete(item.beads_id);
    await this.apply(item, judged.value);
  }

  /** Whether a host or a job silent since `since` (epoch ms) has been so for the fleet's grace. */
  private pastHostGrace(since: number): boolean {
    return Date.now() - since >= this.deps.policy.fleet.hostDownGraceMinutes * 60_000;
  }

  /**
   * The job's host answers for its other jobs but not for this one (its records unreadable to
   * dx-runner): retried for as long as a silent host is waited for, then the attempt is failed and
   * its job stopped, or the wave would wait on it for good.
   */
  private async checkFailed(item: Item, err: Error): Promise<void> {
    const key = `${item.beads_id}\u0000${item.attempt}`;
    const since = this.checkFailingSince.get(key) ?? Date.now();
    this.checkFailingSince.set(key, since);
    if (!this.pastHostGrace(since)) {
      this.deps.view.event(this.state, `${item.beads_id}: check failed (${err.message}); will retry`);
      return;
    }
    this.checkFailingSince.delete(key);
    const minutes = Math.round((Date.now() - since) / 60_000);
    await this.apply(item, {
      type: 'attempt_failed',
      error: `dx-runner could not say how the job is for ${minutes} min: ${err.message}`,
      stopJob: true,
      result: attemptResult('check_failed', 'job_check_failing', null),
    });
  }

  /**
   * Where the attempt's contract is read: the agent's final message, where the prompt asks for it,
   * even an empty one. Only a job with no final message at all (a CLI that ended without one) is
   * read from its log's tail: the log holds what the agent's tools printed too, and a contract line
   * a command printed (a file of the worktree, a diff) is not the agent's — a reviewer whose model
   * gave no verdict, or said nothing at the end, was read as APPROVED by a line its `cat` printed.
   */
  private async evidence(item: Item): Promise<{ report: JobReport | null; evidence: ContractEvidence }> {
    const client = this.clientOf(item);
    // one call: the report carries the log's tail
    const report = await client.report(item.job_beads!, LOG_LINES_FOR_CONTRACT).catch(() => null);
    const prompt = readFileIfExists(this.promptFile(item));
    if (report && report.final_text !== null) return { report, evidence: { sources: [report.final_text], prompt } };
    const tail = report
      ? report.log_tail
      : (await client.logs(item.job_beads!, LOG_LINES_FOR_CONTRACT).catch(() => null))?.lines;
    return { report, evidence: { sources: tail ? [tail.join('\n')] : [], prompt } };
  }

  private async failed(
    item: Item,
    _view: CheckOutput,
    result: string,
    reasonCode: string | null,
    error: string | null,
    stopJob: boolean,
    known?: JobReport | null,
  ): Promise<ItemEvent> {
    const report =
      known !== undefined
        ? known
        : await this.clientOf(item)
            .report(item.job_beads!)
            .catch(() => null);
    return { type: 'attempt_failed', error, stopJob, result: attemptResult(result, reasonCode, report) };
  }

  /** A job that ended well: its contract decides what the item does next. */
  private async finished(item: Item, view: CheckOutput): Promise<ItemEvent> {
    const { report, evidence } = await this.evidence(item);
    if (item.phase === 'review') {
      const found = extractReviewContract(evidence, item.beads_id);
      if (!found.ok)
        return this.failed(item, view, view.state, 'review_contract_missing_or_invalid', found.reason, false, report);
      const c = found.contract;
      const findings = c.findings
        .filter((f) => f.type !== 'positive')
        .map((f) => `[${f.type}] ${f.message}${f.file ? ` (${f.file}${f.line ? `:${f.line}` : ''})` : ''}`);
      // a review meant to change nothing that did: its attempt says so (the files are not the reviewed work)
      const changed = view.reason_code === 'read_only_changed' ? '_after_changing_files' : '';
      // and it cannot approve an edit of the reviewed work (or a commit) no review has seen: the next
      // reviewer of the chain reviews the worktree as it is now. Files it only created and left
      // untracked (a test run's report in a repository that does not ignore it) keep the approval,
      // and a verdict asking for revisions, or blocking, stands
      if (changed && c.verdict === 'APPROVED' && reviewEditedTheWork(report))
        return this.failed(
          item,
          view,
          view.state,
          'review_approved_after_changing_files',
          'the reviewer changed files and approved them: no review has seen those changes',
          false,
          report,
        );
      return {
        type: 'review_reported',
        verdict: c.verdict,
        summary: c.summary,
        findings,
        result: {
          ...attemptResult(view.state, `review_${c.verdict.toLowerCase()}${changed}`, report),
          verdict: c.verdict,
        },
      };
    }
    if (view.state === 'no_op') return this.failed(item, view, 'no_op', view.reason_code, null, false, report);
    const found = extractImplementContract(evidence, item.beads_id);
    if (!found.ok)
      return this.failed(item, view, 'exited_ok', 'implement_contract_missing_or_invalid', found.reason, false, report);
    const c = found.contract;
    if (c.status === 'failed' || c.status === 'no_op')
      return this.failed(item, view, 'exited_ok', `implement_reported_${c.status}`, c.summary, false, report);
    return {
      type: 'implement_reported',
      status: c.status,
      summary: c.summary,
      contract: JSON.stringify(c),
      head: report?.evidence.end_head ?? null,
      result: attemptResult(
        'exited_ok',
        c.status === 'blocked' ? 'implement_reported_blocked' : `implement_${c.status}`,
        report,
      ),
    };
  }
}

/** A read-only job's changes reach past new untracked files: tracked files, a commit (or no report to tell). */
function reviewEditedTheWork(report: JobReport | null): boolean {
  if (!report) return true;
  const { mutations, commits, new_untracked_files: created = 0 } = report.evidence;
  return commits.length > 0 || mutations > created;
}

function noReport(at: string): AttemptResult {
  return { at, result: '', reasonCode: null, durationSec: null, tokensInput: null, tokensOutput: null };
}

function attemptResult(result: string, reasonCode: string | null, report: JobReport | null): AttemptResult {
  return {
    at: new Date().toISOString(),
    result,
    reasonCode,
    durationSec: report?.duration_sec ?? null,
    tokensInput: report?.usage.tokens_input ?? null,
    tokensOutput: report?.usage.tokens_output ?? null,
  };
}

export { jobBeadsFor };

/** What `check` answers for a beads id with no recorded job, from a `status --beads` that lists it as missing. */
function jobNotFound(beads: string): DxRunnerError {
  return new DxRunnerError(`no job recorded for beads ${beads}`, 1, 'job_not_found', null, []);
}

function isJobNotFound(err: unknown): boolean {
  return err instanceof DxRunnerError && err.reasonCode === 'job_not_found';
}

/** An active job's view as its host answered it, the error it answered instead, or no answer yet. */
type Checked = { view: CheckOutput; clock: HostClock } | { err: unknown } | { pending: true };
interface StopOut {
  host: string;
  jobBeads: string;
  done: Promise<void>;
}
const PENDING: Checked = { pending: true };

/** A cycle waits at least this long for a host's answer (poll intervals below it included). */
const MIN_HOST_WAIT_MS = 2_000;
