import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DxRunnerError, readFileIfExists, type BdClient, type BeadsIssue, type CheckOutput, type DxRunnerClient, type JobReport, type Policy } from '@dx/core';
import { extractImplementContract, extractReviewContract } from '../contracts/extract.js';
import { implementPrompt, reviewPrompt } from '../contracts/prompts.js';
import type { ImplementContract } from '../contracts/schemas.js';
import { acquireAttemptLease, releaseAttemptLease, releaseItemLease } from '../leases/item-leases.js';
import type { WaveLock } from '../leases/wave-lock.js';
import { appendLedger, type LedgerRecord } from '../ledger/ledger.js';
import type { ProgressView } from '../reports/view.js';
import type { WavePaths } from '../waves/paths.js';
import { isTerminalItem, writeWave, type Attempt, type Item, type ItemState, type WaveState } from '../waves/state.js';
import { countLiveProcesses } from './saturation.js';
import { resolveItemWorktree } from './worktrees.js';

export interface OrchestratorDeps {
  paths: WavePaths;
  client: DxRunnerClient;
  policy: Policy;
  lock: WaveLock;
  view: ProgressView;
  bd?: BdClient;
}

const LOG_LINES_FOR_CONTRACT = 400;

/** The owner dx-batch gives dx-runner for the jobs of a wave (they are held until the wave is over). */
export function waveOwner(waveId: string): string {
  return `dx-batch:${waveId}`;
}
/** A dx-runner job is an agent process group plus its watcher. */
const PROCESSES_PER_JOB = 2;

/**
 * The wave's deterministic state machine over dx-runner (seed 004): PENDING → IMPLEMENTING →
 * REVIEWING → APPROVED, REVISION_REQUIRED back to implementing (bounded), BLOCKED when the retry
 * chain, the revisions or the agent give up. Each transition is appended to the item's ledger
 * (flushed) before the wave state records it, and every write first proves this orchestrator still
 * holds the wave (fencing), so a killed-and-resumed wave neither loses nor repeats an item.
 */
export class Orchestrator {
  private pausing = false;
  private readonly issues = new Map<string, BeadsIssue | undefined>();

  constructor(
    private readonly deps: OrchestratorDeps,
    private state: WaveState,
  ) {}

  get wave(): WaveState {
    return this.state;
  }

  /** SIGINT/SIGTERM: stop after the current step; running jobs keep going and resume adopts them. */
  requestPause(): void {
    this.pausing = true;
  }

  private save(): void {
    this.deps.lock.assertHeld();
    this.state.token = this.deps.lock.token;
    writeWave(this.deps.paths, this.state);
  }

  private ledger(item: Item, record: Omit<LedgerRecord, 'at' | 'wave_id' | 'beads_id' | 'token'>): void {
    this.deps.lock.assertHeld();
    appendLedger(this.deps.paths, { beads_id: item.beads_id, token: this.deps.lock.token, ...record });
  }

  /** Ledger first, then the state: a crash in between leaves the ledger ahead, never behind. */
  private transition(item: Item, to: ItemState, event: string, fields: Partial<Item> = {}, detail: Omit<LedgerRecord, 'at' | 'wave_id' | 'beads_id' | 'token' | 'event' | 'from' | 'to'> = {}): void {
    this.ledger(item, { event, from: item.status, to, ...detail });
    const from = item.status;
    Object.assign(item, fields, { status: to });
    if (to === 'IMPLEMENTING' && !item.started_at) item.started_at = new Date().toISOString();
    if (isTerminalItem(item)) {
      item.completed_at = new Date().toISOString();
      item.job_beads = null;
      releaseItemLease(this.deps.paths, item.beads_id);
    }
    this.save();
    this.deps.view.event(this.state, `${item.beads_id} ${from} → ${to}${item.reason_code ? ` (${item.reason_code})` : ''}${item.provider && !isTerminalItem(item) ? ` via ${item.provider}` : ''}`);
  }

  private setWave(status: WaveState['status'], reasonCode: string, error: string | null = null): void {
    this.state.status = status;
    this.state.reason_code = reasonCode;
    this.state.error = error;
    if (status === 'completed' || status === 'failed' || status === 'cancelled') this.state.completed_at = new Date().toISOString();
    this.save();
    this.deps.view.event(this.state, `wave ${this.state.wave_id} ${status} (${reasonCode})`);
  }

  /** The wave is over for good: dx-runner's retention may now remove its jobs. */
  async releaseJobs(): Promise<void> {
    if (this.state.status !== 'completed' && this.state.status !== 'cancelled') return;
    await this.deps.client.release(waveOwner(this.state.wave_id)).catch(() => undefined);
  }

  async run(): Promise<WaveState> {
    const interval = this.state.config.poll_interval_sec * 1000;
    for (;;) {
      if (this.pausing) {
        this.setWave('paused', 'wave_paused_signal');
        return this.state;
      }
      this.deps.lock.renew();
      this.pruneJobRecords();
      await this.pollActive();
      if (this.state.items.every(isTerminalItem)) {
        this.setWave('completed', 'wave_completed');
        return this.state;
      }
      if (!(await this.launchReady())) return this.state;
      this.deps.view.render(this.state);
      const until = Date.now() + interval;
      while (Date.now() < until && !this.pausing) await sleep(Math.min(100, until - Date.now()));
    }
  }

  /**
   * Cancel (run with a lock taken by force, which fences any running orchestrator): stop every
   * running job, then every unfinished item becomes CANCELLED and the wave cancelled.
   */
  async cancel(): Promise<{ cancelled: string[]; stopped: string[] }> {
    const stopped: string[] = [];
    for (const item of this.active()) {
      try {
        await this.deps.client.stop(item.job_beads!);
        stopped.push(item.job_beads!);
      } catch (err) {
        if (!(err instanceof DxRunnerError)) throw err;
      }
      releaseAttemptLease(this.deps.paths, item.beads_id, item.attempt, this.deps.lock.token);
    }
    const cancelled: string[] = [];
    for (const item of this.state.items) {
      if (isTerminalItem(item)) continue;
      this.transition(item, 'CANCELLED', 'wave_cancelled', { reason_code: 'wave_cancelled' });
      cancelled.push(item.beads_id);
    }
    this.setWave('cancelled', 'wave_cancelled');
    return { cancelled, stopped };
  }

  private providersFor(phase: 'implement' | 'review'): string[] {
    const chain = phase === 'implement' ? this.state.config.retry_chain : this.state.config.review_chain;
    const unavailable = new Set(this.state.preflight.filter((p) => !p.available).map((p) => p.provider));
    return chain.filter((p) => !unavailable.has(p));
  }

  private active(): Item[] {
    return this.state.items.filter((i) => (i.status === 'IMPLEMENTING' || i.status === 'REVIEWING') && i.job_beads);
  }

  /** Start queued work while fewer than max_parallel items run; false when the wave had to stop. */
  private async launchReady(): Promise<boolean> {
    const queued = this.state.items.filter(
      (i) => i.status === 'PENDING' || i.status === 'REVISION_REQUIRED' || ((i.status === 'IMPLEMENTING' || i.status === 'REVIEWING') && !i.job_beads),
    );
    // counted once per cycle; each job this cycle starts adds its agent and its watcher
    let live: number | undefined;
    for (const item of queued) {
      if (this.pausing || this.active().length >= this.state.config.max_parallel) break;
      live = live === undefined ? await countLiveProcesses(this.deps.client, this.deps.paths, this.state.config.lease_ttl_minutes) : live + PROCESSES_PER_JOB;
      if (live > this.state.config.exec_process_cap) {
        this.setWave('failed', 'exec_saturation', `exec_saturation: live_processes=${live} cap=${this.state.config.exec_process_cap}; run dx-runner prune and dx-batch doctor before retrying`);
        return false;
      }
      await this.launch(item);
      if (this.state.status !== 'running') return false;
    }
    return true;
  }

  private async issue(beads: string): Promise<BeadsIssue | undefined> {
    if (!this.issues.has(beads)) this.issues.set(beads, this.deps.bd ? await this.deps.bd.show(beads).catch(() => undefined) : undefined);
    return this.issues.get(beads);
  }

  private async launch(item: Item): Promise<void> {
    const phase = item.status === 'REVIEWING' ? 'review' : 'implement';
    const failures = phase === 'implement' ? item.implement_failures : item.review_failures;
    const provider = this.providersFor(phase)[failures];
    if (!provider) {
      const reason = phase === 'implement' ? 'retry_chain_exhausted' : 'review_chain_exhausted';
      this.transition(item, 'BLOCKED', 'chain_exhausted', { reason_code: reason, error: `${failures} ${phase} attempt(s) failed; no provider left in the ${phase} chain` });
      return;
    }
    if (!item.worktree) {
      const wt = resolveItemWorktree(this.state.config.worktree_base, item.beads_id, this.deps.policy);
      if (!wt.ok) {
        this.transition(item, 'BLOCKED', 'worktree_unresolved', { reason_code: wt.reasonCode, error: wt.detail });
        return;
      }
      item.worktree = wt.worktree;
    }
    const attempt = item.attempt + 1;
    acquireAttemptLease(this.deps.paths, item.beads_id, attempt, this.deps.lock.token);
    const promptFile = path.join(this.deps.paths.prompts, `${item.beads_id}.${phase}.attempt${attempt}.prompt`);
    fs.mkdirSync(this.deps.paths.prompts, { recursive: true, mode: 0o700 });
    const extra = this.state.config.prompt_file ? readFileIfExists(this.state.config.prompt_file) : undefined;
    const text =
      phase === 'implement'
        ? implementPrompt({ waveId: this.state.wave_id, beadsId: item.beads_id, attempt, issue: await this.issue(item.beads_id), extra, reviewFindings: item.review_findings })
        : reviewPrompt({ waveId: this.state.wave_id, beadsId: item.beads_id, attempt, issue: await this.issue(item.beads_id), implement: item.implement_summary ? (JSON.parse(item.implement_summary) as ImplementContract) : null });
    fs.writeFileSync(promptFile, text, { mode: 0o600 });
    const jobBeads = phase === 'review' ? `${item.beads_id}-review` : item.beads_id;
    const fields: Partial<Item> = { attempt, phase, provider, job_beads: jobBeads, job_requested_at: new Date().toISOString(), run_instance: null, reason_code: null, error: null };
    const detail = { attempt, phase, provider, job_beads: jobBeads } as const;
    if (item.status === 'PENDING' || item.status === 'REVISION_REQUIRED') this.transition(item, 'IMPLEMENTING', 'attempt_started', fields, detail);
    else {
      this.ledger(item, { event: 'attempt_started', ...detail });
      Object.assign(item, fields);
      this.save();
      this.deps.view.event(this.state, `${item.beads_id} ${phase} attempt ${attempt} via ${provider}`);
    }
    await this.startJob(item);
  }

  /** Ask dx-runner to run the item's current attempt (also used to relaunch one that never started). */
  private async startJob(item: Item): Promise<void> {
    const promptFile = path.join(this.deps.paths.prompts, `${item.beads_id}.${item.phase}.attempt${item.attempt}.prompt`);
    try {
      const started = await this.deps.client.start({
        beads: item.job_beads!,
        provider: item.provider!,
        promptFile,
        worktree: item.worktree!,
        policy: this.state.config.policy_file ?? undefined,
        owner: waveOwner(this.state.wave_id),
        // a review changes nothing by design: success is exited_ok, not no_op
        expectNoChanges: item.phase === 'review',
      });
      item.run_instance = started.run_instance;
      fs.mkdirSync(this.deps.paths.jobs, { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(this.deps.paths.jobs, `${item.job_beads}.pid`), `${JSON.stringify({ pid: started.pid, watcher_pid: started.watcher_pid, run_instance: started.run_instance })}\n`, { mode: 0o600 });
      this.ledger(item, { event: 'job_started', attempt: item.attempt, job_beads: item.job_beads!, run_instance: started.run_instance, provider: item.provider! });
      this.save();
    } catch (err) {
      if (!(err instanceof DxRunnerError)) throw err;
      if (err.reasonCode === 'disk_low') {
        // nothing can run until space is freed: give the slot back and stop the wave where it is (resume later)
        this.ledger(item, { event: 'attempt_deferred', attempt: item.attempt, reason_code: err.reasonCode, detail: err.message });
        releaseAttemptLease(this.deps.paths, item.beads_id, item.attempt, this.deps.lock.token);
        item.attempt -= 1;
        item.job_beads = null;
        this.setWave('failed', 'disk_low', err.message);
        return;
      }
      if (err.reasonCode === 'provider_concurrency_cap_exceeded' || err.reasonCode === 'lock_timeout') {
        // not this attempt's fault: give the slot back and try again next cycle
        this.ledger(item, { event: 'attempt_deferred', attempt: item.attempt, reason_code: err.reasonCode, detail: err.message });
        releaseAttemptLease(this.deps.paths, item.beads_id, item.attempt, this.deps.lock.token);
        item.attempt -= 1;
        item.job_beads = null;
        this.save();
        return;
      }
      await this.endAttempt(item, { result: 'start_failed', reasonCode: err.reasonCode, error: err.message });
    }
  }

  /** Stale job records: dispatched jobs this wave no longer waits for. */
  private pruneJobRecords(): void {
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.deps.paths.jobs);
    } catch {
      return;
    }
    const active = new Set(this.active().map((i) => `${i.job_beads}.pid`));
    for (const name of names) if (!active.has(name)) fs.rmSync(path.join(this.deps.paths.jobs, name), { force: true });
  }

  private async pollActive(): Promise<void> {
    // the checks run side by side (each is a dx-runner process); their results apply in item order
    const active = this.active();
    const checks = await Promise.all(active.map((item) => this.deps.client.check(item.job_beads!).then((r) => ({ view: r.view }), (err: unknown) => ({ err }))));
    for (const [n, item] of active.entries()) {
      if (this.pausing) return;
      const checked = checks[n]!;
      let view: CheckOutput;
      try {
        if ('err' in checked) throw checked.err;
        view = checked.view;
      } catch (err) {
        if (err instanceof DxRunnerError && err.reasonCode === 'job_not_found') {
          await this.relaunchMissing(item, 'no dx-runner job');
          continue;
        }
        this.deps.view.event(this.state, `${item.beads_id}: check failed (${(err as Error).message}); will retry`);
        continue;
      }
      // an older instance of the same beads id: this attempt's job was requested but never started
      if (item.job_requested_at && view.started_at && view.started_at < item.job_requested_at) {
        await this.relaunchMissing(item, `dx-runner's latest instance started ${view.started_at}, before this attempt`);
        continue;
      }
      if (!item.run_instance && view.run_instance) item.run_instance = view.run_instance;
      switch (view.state) {
        case 'launching':
        case 'healthy':
          break;
        case 'stalled':
          await this.deps.client.stop(item.job_beads!).catch(() => undefined);
          await this.endAttempt(item, { result: 'stalled', reasonCode: view.reason_code });
          break;
        case 'blocked':
        case 'exited_err':
          await this.endAttempt(item, { result: view.state, reasonCode: view.reason_code });
          break;
        case 'exited_ok':
        case 'no_op':
          await this.complete(item, view);
          break;
      }
    }
  }

  /** Write-ahead without a job (crash between the ledger and dx-runner start): start it now, same attempt. */
  private async relaunchMissing(item: Item, why: string): Promise<void> {
    this.ledger(item, { event: 'job_relaunched', attempt: item.attempt, job_beads: item.job_beads!, detail: why });
    item.job_requested_at = new Date().toISOString();
    item.run_instance = null;
    this.save();
    await this.startJob(item);
  }

  private async evidence(item: Item): Promise<{ report: JobReport | null; sources: string[] }> {
    const [report, logs] = await Promise.all([
      this.deps.client.report(item.job_beads!).catch(() => null),
      this.deps.client.logs(item.job_beads!, LOG_LINES_FOR_CONTRACT).catch(() => null),
    ]);
    const sources = [report?.final_text ?? ''];
    if (logs) sources.push(logs.lines.join('\n'));
    return { report, sources };
  }

  private async complete(item: Item, view: CheckOutput): Promise<void> {
    const { report, sources } = await this.evidence(item);
    if (item.phase === 'implement') {
      if (view.state === 'no_op') {
        await this.endAttempt(item, { result: 'no_op', reasonCode: view.reason_code, report });
        return;
      }
      const found = extractImplementContract(sources, item.beads_id);
      if (!found.ok) {
        await this.endAttempt(item, { result: 'exited_ok', reasonCode: 'implement_contract_missing_or_invalid', error: found.reason, report });
        return;
      }
      const c = found.contract;
      if (c.status === 'blocked') {
        this.recordAttempt(item, { result: 'exited_ok', reasonCode: 'implement_reported_blocked', report });
        this.transition(item, 'BLOCKED', 'implement_reported_blocked', { reason_code: 'implement_reported_blocked', error: c.summary }, { attempt: item.attempt, phase: 'implement' });
        return;
      }
      if (c.status !== 'completed' && c.status !== 'partial') {
        await this.endAttempt(item, { result: 'exited_ok', reasonCode: `implement_reported_${c.status}`, error: c.summary, report });
        return;
      }
      this.recordAttempt(item, { result: 'exited_ok', reasonCode: `implement_${c.status}`, report });
      const summary = JSON.stringify(c);
      if (this.state.config.review) {
        this.transition(item, 'REVIEWING', 'implement_completed', { implement_summary: summary, phase: 'review', job_beads: null, review_failures: 0 }, { attempt: item.attempt, phase: 'implement' });
      } else {
        this.transition(item, 'APPROVED', 'approved_no_review', { implement_summary: summary, reason_code: 'approved_no_review', verdict: null }, { attempt: item.attempt, phase: 'implement' });
      }
      return;
    }
    const found = extractReviewContract(sources, item.beads_id);
    if (!found.ok) {
      await this.endAttempt(item, { result: view.state, reasonCode: 'review_contract_missing_or_invalid', error: found.reason, report });
      return;
    }
    const c = found.contract;
    this.recordAttempt(item, { result: view.state, reasonCode: `review_${c.verdict.toLowerCase()}`, verdict: c.verdict, report });
    const findings = c.findings.filter((f) => f.type !== 'positive').map((f) => `[${f.type}] ${f.message}${f.file ? ` (${f.file}${f.line ? `:${f.line}` : ''})` : ''}`);
    const detail = { attempt: item.attempt, phase: 'review' as const, verdict: c.verdict };
    if (c.verdict === 'APPROVED') {
      this.transition(item, 'APPROVED', 'review_approved', { verdict: 'APPROVED', reason_code: 'approved' }, detail);
    } else if (c.verdict === 'BLOCKED') {
      this.transition(item, 'BLOCKED', 'review_blocked', { verdict: 'BLOCKED', reason_code: 'review_blocked', error: c.summary, review_findings: findings }, detail);
    } else if (item.revisions + 1 > this.state.config.max_revisions) {
      this.transition(item, 'BLOCKED', 'revision_limit_reached', { verdict: 'REVISION_REQUIRED', reason_code: 'revision_limit_reached', revisions: item.revisions + 1, review_findings: findings, error: c.summary }, detail);
    } else {
      this.transition(item, 'REVISION_REQUIRED', 'revision_required', { verdict: 'REVISION_REQUIRED', reason_code: 'revision_required', revisions: item.revisions + 1, review_findings: findings, job_beads: null, phase: 'implement' }, detail);
    }
  }

  private recordAttempt(item: Item, r: { result: string; reasonCode: string | null; verdict?: string; report?: JobReport | null }): void {
    const record: Attempt = {
      attempt: item.attempt,
      phase: item.phase ?? 'implement',
      provider: item.provider ?? '?',
      job_beads: item.job_beads ?? '?',
      run_instance: item.run_instance,
      started_at: item.job_requested_at ?? new Date().toISOString(),
      completed_at: new Date().toISOString(),
      result: r.result,
      reason_code: r.reasonCode,
      verdict: r.verdict ?? null,
      duration_sec: r.report?.duration_sec ?? null,
      tokens_input: r.report?.usage.tokens_input ?? null,
      tokens_output: r.report?.usage.tokens_output ?? null,
    };
    this.ledger(item, { event: 'attempt_finished', attempt: item.attempt, phase: record.phase, provider: record.provider, job_beads: record.job_beads, run_instance: record.run_instance, reason_code: r.reasonCode, verdict: r.verdict ?? null, detail: r.result });
    item.attempts.push(record);
    releaseAttemptLease(this.deps.paths, item.beads_id, item.attempt, this.deps.lock.token);
    if (item.job_beads) fs.rmSync(path.join(this.deps.paths.jobs, `${item.job_beads}.pid`), { force: true });
  }

  /** A failed attempt: the next provider of the phase's chain gets the item, or it is blocked. */
  private async endAttempt(item: Item, r: { result: string; reasonCode: string | null; error?: string; report?: JobReport | null }): Promise<void> {
    if (!r.report && item.job_beads && r.result !== 'start_failed') r.report = await this.deps.client.report(item.job_beads).catch(() => null);
    this.recordAttempt(item, r);
    const phase = item.phase ?? 'implement';
    const failures = (phase === 'implement' ? item.implement_failures : item.review_failures) + 1;
    const next = this.providersFor(phase)[failures];
    const counter = phase === 'implement' ? { implement_failures: failures } : { review_failures: failures };
    if (!next) {
      const reason = phase === 'implement' ? 'retry_chain_exhausted' : r.reasonCode === 'review_contract_missing_or_invalid' ? 'review_contract_missing_or_invalid' : 'review_chain_exhausted';
      this.transition(item, 'BLOCKED', 'attempt_failed', { ...counter, reason_code: reason, error: `${r.reasonCode ?? r.result}${r.error ? `: ${r.error}` : ''}`, job_beads: null }, { attempt: item.attempt, phase, reason_code: r.reasonCode });
      return;
    }
    this.ledger(item, { event: 'retry_scheduled', attempt: item.attempt, phase, provider: next, reason_code: r.reasonCode, detail: `fallback from ${item.provider} after ${r.reasonCode ?? r.result}` });
    Object.assign(item, counter, { job_beads: null, reason_code: r.reasonCode, error: r.error ?? null });
    this.save();
    this.deps.view.event(this.state, `${item.beads_id} ${phase} attempt ${item.attempt} failed (${r.reasonCode ?? r.result}); next: ${next}`);
  }
}
