import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { createLogger } from '../../logging/logger.js';
import { endEscapees, findEscapees, JOB_MARK_ENV, jobMark } from '../../process/escapees.js';
import { FreezeClock } from '../../process/freeze-clock.js';
import { withoutRepositoryEnv } from '../../process/git.js';
import { groupAlive, sendSignal, terminateGroup } from '../../process/signals.js';
import { identify, selfIdentity, type ProcessIdentity } from '../../process/identity.js';
import { setLongTimeout, timerPeriod, type LongTimeout } from '../../process/timers.js';
import { toolCpuSeconds } from '../../process/tool-cpu.js';
import type {
  AgentEvent,
  AgentExit,
  EventParser,
  FailureClassification,
  ProviderRuntime,
} from '../../providers/contract.js';
import { providerKit } from '../../providers/kit.js';
import { secretsInSettingsFiles } from '../../secrets/settings-files.js';
import { Redactor } from '../../secrets/redact.js';
import {
  ensurePrivateDir,
  isNoSpace,
  readFileIfExists,
  writeFileAtomic,
  writeFileExclusive,
} from '../../state/atomic.js';
import { CappedLog } from '../capped-log.js';
import { parseKv } from '../../state/kv.js';
import { cleanupInstance, currentInstance, isCurrentInstance, publishOutcome, writeRecord } from '../record-io.js';
import type { HeartbeatRecord, OutcomeRecord } from '../records.js';
import { LineSplitter, Tail } from './lines.js';
import { decideOutcome, signalNumber, type Decision, type Termination } from './decide.js';
import {
  MUTATION_DEBOUNCE_MS,
  MutationTracker,
  pollSpacingMs,
  type MutationSnapshot,
  type WorktreeLoss,
} from './mutations.js';
import { claimWorktree, releaseWorktreeClaim } from '../worktree-claim.js';
import type { WatcherAck, WatcherSpec } from './spec.js';

const TAIL_LINES = 200;
const NOTABLE_EVENTS = 100;
/** Long enough for a final message that ends with a machine-readable contract line. */
const FINAL_TEXT_MAX = 16_000;
const MAX_CHANGED_FILES_RECORDED = 500;
/** A worktree found gone is looked for again after this before the agent is ended (a move-and-back). */
const WORKTREE_GONE_CONFIRM_MS = 2000;
/** A worktree git has not answered for this many checks in a row: the job is ended. */
const UNANSWERED_CHECKS_LIMIT = 2;
const LOG_FLUSH_MS = 500;
/**
 * The agent's tools count as busy when, between two worktree polls, they used at least this share
 * of one CPU: a build or a test run uses far more, a server idling in the foreground or a hung
 * command next to nothing.
 */
const TOOLS_BUSY_CPU_SHARE = 0.05;

function iso(ms = Date.now()): string {
  return new Date(ms).toISOString();
}

/**
 * Supervises one agent process from launch to outcome. It is the agent's parent, so it learns of
 * the exit from the kernel (no `ps` polling), and it is the single writer of the heartbeat and,
 * while alive, of the outcome. Other commands talk to it through a control file plus SIGTERM.
 */
export class JobWatcher {
  private readonly redactor: Redactor;
  private logger?: Logger;
  private runtime!: ProviderRuntime;
  private parser!: EventParser;
  private readonly tracker: MutationTracker;
  private child?: ChildProcess;
  private agent?: ProcessIdentity;
  private agentLog?: CappedLog;
  private outputBytes = 0;
  private readonly stdoutTail = new Tail<string>(TAIL_LINES);
  private readonly stderrTail = new Tail<string>(TAIL_LINES);
  private readonly notable = new Tail<AgentEvent>(NOTABLE_EVENTS);
  private termination?: Termination;
  private pendingTermination?: Termination;
  /** Why the agent could not be recorded at launch (no space), when it could not. */
  private recordErrorCode?: string;
  private finalText?: string;
  private hungAfterFinal = false;
  private readonly launchedAt = Date.now();
  /** How the agent ended, once it has (its exit code or signal, and when). */
  private agentExit?: { code: number | null; signal: NodeJS.Signals | null; at: number };
  private readonly hb = {
    events: 0,
    toolCalls: 0,
    messages: 0,
    providerRetries: 0,
    writesRefused: 0,
    lastEventAt: undefined as number | undefined,
    lastEventKind: undefined as string | undefined,
    lastEventDetail: undefined as string | undefined,
    rateLimitedUntil: undefined as number | undefined,
    rateLimitDetail: undefined as string | undefined,
    finalAt: undefined as number | undefined,
    finalOk: undefined as boolean | undefined,
    lastMutationAt: undefined as number | undefined,
    tokensInput: undefined as number | undefined,
    tokensOutput: undefined as number | undefined,
    costUsd: undefined as number | undefined,
    resumedAt: undefined as number | undefined,
    frozenMs: 0,
    toolCpuSec: undefined as number | undefined,
    toolsBusyAt: undefined as number | undefined,
    repeatedToolCalls: undefined as number | undefined,
    repeatedToolCall: undefined as string | undefined,
  };
  /**
   * The agent's latest run of tool calls made of at most two different calls (one repeated, or two
   * in turn), the worktree unchanged: `last` and `other` are the two, `lastRun` how many of `last`
   * end the run, `count` its length.
   */
  private repeat?: { last: string; other?: string; lastRun: number; count: number; worktreeChanges: number };
  /** The last reading of the agent's tools' CPU: what the next one is compared with. */
  private toolCpuReading?: { sec: number; at: number };
  private hbLastWrite = 0;
  private hbTimer?: NodeJS.Timeout;
  private mutationTimer?: NodeJS.Timeout;
  private mutationInFlight?: Promise<MutationSnapshot>;
  private lastPollAt = 0;
  private lastPollMs = 0;
  /** Worktree checks in a row whose git status did not answer within its bound. */
  private unansweredChecks = 0;
  private timers: NodeJS.Timeout[] = [];
  private worktreeLostTimer: NodeJS.Timeout | undefined;
  private recordsLostTimer: NodeJS.Timeout | undefined;
  /** The job's meta as `start` wrote it: put back for the outcome when its records were removed. */
  private metaText: string | undefined;
  /** In the agent's environment: what finds its children that left its process group. */
  private readonly mark: string;
  private runtimeTimer?: LongTimeout;
  private finalGraceTimer?: LongTimeout;
  private freezeClock?: FreezeClock;
  private readonly self: ProcessIdentity;

  constructor(
    private readonly spec: WatcherSpec,
    private readonly ack: (message: WatcherAck) => void,
    private readonly diagnostics: DiagnosticsSink,
  ) {
    this.redactor = Redactor.fromEnv([process.env, spec.launch.env], {
      names: spec.launch.secretEnvNames,
      values: [
        ...(spec.launch.secretValues ?? []),
        ...secretsInSettingsFiles(spec.launch.env ?? {}, spec.launch.files),
      ],
    });
    this.tracker = new MutationTracker(spec.worktree, spec.limits.gitTimeoutMs);
    this.mark = jobMark(spec.beads, spec.runInstance);
    this.self = selfIdentity();
  }

  /**
   * Created on first use, so loading pino stays off the path to start's acknowledgement. If the
   * logger cannot be set up, diagnostics fall back to plain lines: supervision never depends on it.
   */
  private get log(): Logger {
    if (this.logger) return this.logger;
    try {
      this.logger = createLogger({
        redactor: this.redactor,
        level: this.spec.logLevel,
        destination: this.diagnostics,
        base: { beads: this.spec.beads, provider: this.spec.provider, run_instance: this.spec.runInstance },
      });
    } catch (err) {
      this.logger = plainLogger(
        this.diagnostics,
        this.redactor,
        `logging set-up failed (${(err as Error).message}); plain diagnostics follow`,
      );
    }
    return this.logger;
  }

  async run(): Promise<void> {
    for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => void this.onSignal(sig));
    try {
      const mod = (await import(this.spec.runtimeModule)) as { provider?: ProviderRuntime; default?: ProviderRuntime };
      const runtime = mod.provider ?? mod.default;
      if (!runtime || typeof runtime.createParser !== 'function' || typeof runtime.classifyFailure !== 'function') {
        throw new Error(`module ${this.spec.runtimeModule} has no provider runtime export`);
      }
      this.runtime = runtime;
      this.parser = runtime.createParser(this.spec.launch.runtimeOptions ?? {}, providerKit);
    } catch (err) {
      await this.failBeforeLaunch(
        'provider_runtime_load_failed',
        'crashed',
        `cannot load provider runtime: ${(err as Error).message}`,
        1,
      );
      return;
    }
    try {
      this.prepareFiles();
      await this.tracker.baseline();
    } catch (err) {
      await this.failToPrepare(`cannot prepare the job: ${(err as Error).message}`, err);
      return;
    }
    try {
      this.agentLog = new CappedLog(this.spec.paths.log, { capBytes: this.spec.limits.logCapBytes });
    } catch (err) {
      await this.failToPrepare(`cannot open the job log ${this.spec.paths.log}: ${(err as Error).message}`, err);
      return;
    }
    // the heartbeat exists before the agent does: on a full file system it is still rewritten in
    // place, and the outcome can take its place, so an agent that runs can always be recorded
    const noHeartbeat = this.writeHeartbeat(true);
    if (noHeartbeat) {
      await this.failToPrepare(`cannot write the job's heartbeat: ${noHeartbeat.message}`, noHeartbeat);
      return;
    }
    this.spawnAgent();
  }

  private async failToPrepare(message: string, err: unknown): Promise<void> {
    const full = isNoSpace(err);
    await this.failBeforeLaunch(
      full ? 'disk_full' : 'launch_preparation_failed',
      full ? 'disk_full' : 'crashed',
      message,
      1,
    );
  }

  private prepareFiles(): void {
    const { home, tmp } = this.spec.paths;
    fs.mkdirSync(home, { recursive: true, mode: 0o700 });
    fs.mkdirSync(tmp, { recursive: true, mode: 0o700 });
    for (const file of this.spec.launch.files ?? []) {
      const resolved = path.resolve(file.path);
      if (!resolved.startsWith(`${path.resolve(home)}${path.sep}`))
        throw new Error(`launch file ${file.path} is outside the job home`);
      fs.mkdirSync(path.dirname(resolved), { recursive: true, mode: 0o700 });
      fs.writeFileSync(resolved, file.content, { mode: file.mode ?? 0o600 });
    }
  }

  private spawnAgent(): void {
    const { launch } = this.spec;
    let stdinFd: number | 'ignore' = 'ignore';
    if (launch.stdinFile) stdinFd = fs.openSync(launch.stdinFile, 'r');
    const child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      // whatever env the plugin built, the agent's git is its worktree's, and it carries the run's mark
      env: { ...withoutRepositoryEnv(launch.env), [JOB_MARK_ENV]: this.mark },
      detached: true,
      stdio: [stdinFd, 'pipe', 'pipe'],
    });
    this.child = child;
    let started = false;
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (started) {
        this.log.error({ err: err.message }, 'agent process error');
        return;
      }
      void this.onSpawnError(err);
    });
    child.once('spawn', () => {
      started = true;
      if (typeof stdinFd === 'number') fs.closeSync(stdinFd);
      this.onSpawned(child);
    });
  }

  private onSpawned(child: ChildProcess): void {
    const pid = child.pid!;
    this.agent = identify(pid) ?? { pid, startTicks: undefined };
    const redact = (text: string) => this.redactor.redact(text);
    const stdout = new LineSplitter((line) => this.onLine(line, 'stdout'), { redact });
    const stderr = new LineSplitter((line) => this.onLine(line, 'stderr'), { redact });
    child.stdout!.on('data', (chunk: Buffer) => {
      this.countOutput(chunk.length);
      stdout.push(chunk);
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.countOutput(chunk.length);
      stderr.push(chunk);
    });
    const streamsClosed = Promise.all([
      new Promise<void>((r) => child.stdout!.once('close', () => r())),
      new Promise<void>((r) => child.stderr!.once('close', () => r())),
    ]);
    child.once('exit', (code, signal) => {
      void this.onExit(code, signal, streamsClosed, () => {
        stdout.end();
        stderr.end();
      });
    });
    // the heartbeat names the agent (pid + start time: what lets stop and prune end it if this
    // watcher dies); an agent that cannot be recorded is not left running unrecorded
    const unrecorded = this.writeHeartbeat(true) ?? this.recordAgentPid(pid);
    if (unrecorded) {
      // any other failure is a crash, and the crash handler ends the agent
      if (!isNoSpace(unrecorded)) throw unrecorded;
      this.log.error({ err: unrecorded.message }, 'cannot record the agent: the state root is full; ending it');
      this.recordErrorCode = (unrecorded as NodeJS.ErrnoException).code;
      this.pendingTermination ??= { action: 'disk_full', reason: 'disk_full', exitCode: 1, state: 'failed' };
    }
    this.ack({ ok: true, agentPid: pid, agentStartTicks: this.agent.startTicks ?? 0, watcherPid: process.pid });
    this.metaText = readFileIfExists(this.spec.paths.meta);
    if (!this.spec.expectNoChanges && this.agent.startTicks !== undefined)
      claimWorktree(this.spec.paths.root, this.spec.worktree, {
        provider: this.spec.provider,
        beads: this.spec.beads,
        runInstance: this.spec.runInstance,
        watcher: this.self,
        agent: this.agent,
      });
    this.log.info({ agent_pid: pid, command: path.basename(this.spec.launch.command) }, 'agent launched');
    const { limits } = this.spec;
    this.armRuntimeLimit();
    const poll = setInterval(() => {
      this.readToolCpu();
      this.checkRecords();
      this.scheduleMutationPoll(0);
    }, timerPeriod(limits.mutationPollMs));
    this.timers.push(poll);
    this.freezeClock = new FreezeClock(LOG_FLUSH_MS, limits.freezeGapMs);
    this.timers.push(setInterval(() => this.onBeat(), LOG_FLUSH_MS));
    if (this.pendingTermination) void this.terminate(this.pendingTermination);
  }

  /** The runtime limit, counted without the time the job spent frozen. */
  private armRuntimeLimit(): void {
    this.runtimeTimer?.clear();
    const used = Date.now() - this.launchedAt - this.hb.frozenMs;
    this.runtimeTimer = setLongTimeout(
      () => void this.terminate({ action: 'timeout', reason: 'max_runtime_exceeded', exitCode: 124, state: 'timeout' }),
      Math.max(0, this.spec.limits.maxRuntimeMs - used),
    );
  }

  /**
   * Every half second: output gathered for the log reaches the file (so readers lag little), and a
   * beat that comes far too late means this process, and the agent with it, was frozen (a suspend,
   * a paused VM, a stopped process group). That time is recorded, so it is judged neither a stall
   * nor runtime.
   */
  private onBeat(): void {
    this.agentLog?.flush();
    const frozen = this.freezeClock?.tick() ?? 0;
    if (frozen === 0 || this.termination) return;
    this.hb.frozenMs += frozen;
    this.hb.resumedAt = Date.now();
    this.log.warn(
      { frozen_sec: Math.round(frozen / 1000) },
      'woke from a freeze; that time is neither a stall nor runtime',
    );
    this.armRuntimeLimit();
    this.writeHeartbeat(true);
  }

  private recordAgentPid(pid: number): Error | undefined {
    try {
      writeFileAtomic(this.spec.paths.pid, `${pid}\n`);
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }

  /**
   * The watcher is crashing: its agent must not outlive it unsupervised. The agent is this
   * process's own child (pid + start time recorded at spawn), so its group is ended without grace.
   */
  killAgentNow(): void {
    if (this.agent) sendSignal(this.agent, 'SIGKILL', 'group');
  }

  /** An agent printing past limits.max_output_mb is stopped: its output is still parsed until then. */
  private countOutput(bytes: number): void {
    this.outputBytes += bytes;
    if (this.outputBytes > this.spec.limits.outputCapBytes && !this.termination) {
      this.log.warn(
        { output_bytes: this.outputBytes, cap: this.spec.limits.outputCapBytes },
        'agent output past limits.max_output_mb; ending the agent',
      );
      void this.terminate({ action: 'flood', reason: 'output_flood', exitCode: 1, state: 'failed' });
    }
  }

  /** Every line is redacted before anything reads it: the log, the tails and the provider's parser. */
  private onLine(line: string, stream: 'stdout' | 'stderr'): void {
    const clean = this.redactor.redact(line);
    this.agentLog?.write(`${clean}\n`);
    if (this.agentLog?.error && !this.termination) {
      // the disk filled up under the job: it cannot be recorded any more, so end it cleanly now, and
      // give back the log's tail so the outcome still fits
      this.log.error({ err: this.agentLog.error.message }, 'cannot write the job log; ending the agent');
      if (this.agentLog.error.code === 'ENOSPC') this.agentLog.reclaim();
      void this.terminate({ action: 'disk_full', reason: 'disk_full', exitCode: 1, state: 'failed' });
    }
    (stream === 'stdout' ? this.stdoutTail : this.stderrTail).push(clean);
    let events: AgentEvent[] = [];
    try {
      // a plugin's parser is not trusted to keep its contract: anything but a list of events is none
      const parsed: unknown = this.parser.parse(clean, stream);
      if (Array.isArray(parsed)) events = parsed.filter(isEvent);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'provider parser threw; line kept in the log only');
    }
    for (const event of events) this.applyEvent(event);
  }

  private applyEvent(event: AgentEvent): void {
    const now = Date.now();
    const hb = this.hb;
    switch (event.kind) {
      case 'progress':
        hb.events++;
        hb.lastEventAt = now;
        hb.lastEventKind = event.activity;
        hb.lastEventDetail = event.detail;
        hb.rateLimitedUntil = undefined;
        if (event.activity === 'tool_call') {
          hb.toolCalls++;
          this.noteToolCall(event.detail, event.input);
        }
        if (event.activity === 'message') hb.messages++;
        if (event.activity === 'tool_call' || event.activity === 'tool_result')
          this.scheduleMutationPoll(MUTATION_DEBOUNCE_MS);
        break;
      case 'retry': {
        hb.events++;
        hb.providerRetries++;
        hb.lastEventAt = now;
        hb.lastEventKind = 'retry';
        hb.lastEventDetail = event.detail;
        if (event.failureClass === 'rate_limited') {
          const until = event.resetAt ? Date.parse(event.resetAt) : now + (event.retryAfterSec ?? 60) * 1000;
          hb.rateLimitedUntil = Number.isFinite(until) ? until : now + 60_000;
          hb.rateLimitDetail = event.detail;
        }
        this.notable.push(event);
        break;
      }
      case 'usage': {
        // a plugin's parser reads numbers from a CLI's stream: a fraction or a NaN there must not make
        // the heartbeat and the outcome records that cannot be written
        const input = count(event.inputTokens);
        const output = count(event.outputTokens);
        const cost = amount(event.costUsd);
        if (event.mode === 'total') {
          if (input !== undefined) hb.tokensInput = input;
          if (output !== undefined) hb.tokensOutput = output;
          if (cost !== undefined) hb.costUsd = cost;
        } else {
          if (input !== undefined) hb.tokensInput = (hb.tokensInput ?? 0) + input;
          if (output !== undefined) hb.tokensOutput = (hb.tokensOutput ?? 0) + output;
          if (cost !== undefined) hb.costUsd = (hb.costUsd ?? 0) + cost;
        }
        break;
      }
      case 'final':
        hb.events++;
        hb.lastEventAt = now;
        hb.lastEventKind = 'final';
        hb.finalAt = now;
        // a plugin's `ok` that is not a boolean says nothing (it once made the heartbeat unwritable)
        hb.finalOk = typeof event.ok === 'boolean' ? event.ok : undefined;
        if (typeof event.text === 'string') {
          // keep the end: agents put their machine-readable contract on the last line
          const text = event.text;
          this.finalText = text.length > FINAL_TEXT_MAX ? `…${text.slice(-FINAL_TEXT_MAX)}` : text;
        }
        this.notable.push(event);
        this.scheduleMutationPoll(0);
        this.finalGraceTimer ??= setLongTimeout(() => this.onFinalGraceElapsed(), this.spec.limits.finalExitGraceMs);
        break;
      case 'writes_refused':
        hb.writesRefused++;
        this.notable.push(event);
        break;
      case 'error':
        hb.events++;
        hb.lastEventAt = now;
        hb.lastEventKind = 'error';
        hb.lastEventDetail = event.detail;
        this.notable.push(event);
        break;
      case 'fatal':
        hb.events++;
        hb.lastEventAt = now;
        hb.lastEventKind = 'fatal';
        hb.lastEventDetail = event.detail;
        this.notable.push(event);
        this.log.warn(
          { failure_class: event.failureClass, detail: event.detail },
          'provider reported a fatal error; ending the agent now',
        );
        void this.terminate({ action: 'fatal', reason: 'fatal', exitCode: 1 });
        break;
    }
    this.writeHeartbeat(event.kind === 'final' || hb.events === 1);
  }

  /**
   * An agent stuck in a loop keeps sending events (one tool call after another) while it changes
   * nothing: the same call with the same arguments again and again, or two calls in turn (an edit
   * that changes nothing, then the same failing test). Counted here; health calls the job stalled
   * once the count reaches its limit. A call without arguments the provider could read proves
   * nothing either way and ends the count, as does a worktree that moved.
   */
  private noteToolCall(tool: string | undefined, input: string | undefined): void {
    const hb = this.hb;
    const worktreeChanges = this.tracker.snapshot.changes;
    const signature = typeof input === 'string' ? `${tool ?? ''}\0${input}` : undefined;
    const run = this.repeat?.worktreeChanges === worktreeChanges ? this.repeat : undefined;
    if (signature === undefined) this.repeat = undefined;
    else if (!run) this.repeat = { last: signature, lastRun: 1, count: 1, worktreeChanges };
    else if (signature === run.last) this.repeat = { ...run, lastRun: run.lastRun + 1, count: run.count + 1 };
    else if (signature === run.other)
      this.repeat = { ...run, last: signature, other: run.last, lastRun: 1, count: run.count + 1 };
    // a third call: the run starts again from the calls of the one before it at its end
    else this.repeat = { last: signature, other: run.last, lastRun: 1, count: run.lastRun + 1, worktreeChanges };
    // a run of two different calls repeats once it is longer than two
    const repeated =
      this.repeat && this.repeat.count > (this.repeat.other === undefined ? 1 : 2) ? this.repeat : undefined;
    hb.repeatedToolCalls = repeated?.count;
    hb.repeatedToolCall = repeated ? `${tool ?? 'tool'} ${input ?? ''}`.slice(0, 200) : undefined;
  }

  private onFinalGraceElapsed(): void {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null || this.termination) return;
    this.hungAfterFinal = true;
    this.log.warn(
      { grace_ms: this.spec.limits.finalExitGraceMs },
      'agent still alive after its final result; terminating',
    );
    void this.terminate({ action: 'hung', reason: 'hung_after_final_result', exitCode: 0 });
  }

  /**
   * A tool working silently (a long build, a test suite) sends no event and may change no tracked
   * file for longer than the stall threshold; the CPU its processes use is what tells it from a hung
   * one. Recorded in the heartbeat (`tools_busy_at`), so health does not call it a stall.
   */
  private readToolCpu(): void {
    if (!this.agent || this.agentExit) return;
    const sec = toolCpuSeconds(this.agent.pid);
    if (sec === undefined) return;
    const now = Date.now();
    const before = this.toolCpuReading;
    this.toolCpuReading = { sec, at: now };
    this.hb.toolCpuSec = Math.max(this.hb.toolCpuSec ?? 0, sec);
    if (before && sec - before.sec >= (TOOLS_BUSY_CPU_SHARE * (now - before.at)) / 1000) {
      this.hb.toolsBusyAt = now;
      this.writeHeartbeat();
    }
  }

  private scheduleMutationPoll(delayMs: number): void {
    // once the agent has exited, its final check is the last (an event drained from its output
    // after that must not start another, which could outlive the watcher's own exit)
    if (this.mutationTimer || this.agentExit) return;
    const wait = Math.max(delayMs, this.lastPollAt + pollSpacingMs(this.lastPollMs) - Date.now(), 0);
    this.mutationTimer = setTimeout(() => {
      this.mutationTimer = undefined;
      void this.pollMutations();
    }, wait);
  }

  /**
   * `fresh`: the answer must reflect the worktree as it is now. A poll already in flight may have
   * read the worktree before the agent's last write (the tool call is announced before the file is
   * written), so the final check after the agent exits waits for it and polls again.
   */
  private async pollMutations(fresh = false): Promise<MutationSnapshot> {
    while (fresh && this.mutationInFlight) await this.mutationInFlight;
    if (this.mutationInFlight) return this.mutationInFlight;
    const startedAt = (this.lastPollAt = Date.now());
    const before = this.tracker.snapshot.mutations;
    this.mutationInFlight = this.tracker
      .poll()
      .catch((err: Error) => {
        this.log.warn({ err: err.message }, 'mutation poll failed');
        return this.tracker.snapshot;
      })
      .finally(() => {
        this.mutationInFlight = undefined;
        this.lastPollMs = Date.now() - startedAt;
      });
    const snap = await this.mutationInFlight;
    if (snap.mutations !== before) {
      this.hb.lastMutationAt = Date.now();
      this.writeHeartbeat(true);
    }
    this.unansweredChecks = snap.lost === 'git_status_timed_out' ? this.unansweredChecks + 1 : 0;
    if (snap.lost === 'git_status_timed_out') {
      this.log.warn(
        { timeout_ms: this.spec.limits.gitTimeoutMs, in_a_row: this.unansweredChecks },
        'git status did not answer in time (a clean filter or fsmonitor hook that hangs?); the changes are unknown',
      );
      // nothing the agent does can be measured any more: not a night's tokens spent on it
      if (this.unansweredChecks >= UNANSWERED_CHECKS_LIMIT && !fresh && !this.termination && !this.agentExit)
        void this.terminate({
          action: 'worktree_unreadable',
          reason: 'git_status_timed_out',
          exitCode: 1,
          state: 'failed',
        });
    } else if (snap.lost && !fresh) this.onWorktreeLost(snap.lost);
    return snap;
  }

  /**
   * The worktree (or its repository) was removed under a running agent: nothing it does can be seen
   * or kept any more, and an agent left running would spend the night's tokens on it. Ended as
   * `worktree_gone` / `git_repository_gone` when it is still gone a moment later.
   */
  private onWorktreeLost(lost: WorktreeLoss): void {
    if (this.worktreeLostTimer || this.termination || this.agentExit) return;
    this.log.warn(
      { worktree: this.spec.worktree, reason: lost },
      'the worktree is gone or replaced; ending the agent if it stays so',
    );
    this.worktreeLostTimer = setTimeout(() => {
      const still = this.tracker.loss();
      if (!still) {
        this.worktreeLostTimer = undefined;
        return;
      }
      void this.terminate({ action: 'worktree_gone', reason: still, exitCode: 1, state: 'failed' });
    }, WORKTREE_GONE_CONFIRM_MS);
    this.timers.push(this.worktreeLostTimer);
  }

  /** What became of the job's records, when they no longer name this running instance. */
  private recordsLoss(): 'records_removed' | 'job_replaced' | undefined {
    const { meta, pid } = this.spec.paths;
    if (!fs.existsSync(meta) || !fs.existsSync(pid)) return 'records_removed';
    const current = currentInstance(this.spec.paths);
    return current !== undefined && current !== this.spec.runInstance ? 'job_replaced' : undefined;
  }

  /**
   * The job's records were removed under a running agent (a state root cleaned by hand or by a
   * tmp cleaner), or another instance took the job's place: no `status`, `stop` or owner sees the
   * agent any more, the next start puts a second agent in its worktree, and its HOME and TMPDIR
   * went with the records. Ended when it is still so a moment later; a removed job gets its meta
   * back with the outcome, so whoever waits for it reads why.
   */
  private checkRecords(): void {
    if (this.recordsLostTimer || this.termination || this.agentExit || !this.recordsLoss()) return;
    this.recordsLostTimer = setTimeout(() => {
      const still = this.recordsLoss();
      if (!still) {
        this.recordsLostTimer = undefined;
        return;
      }
      this.log.warn({ reason: still }, "the job's records no longer name this run; ending the agent");
      void this.terminate({ action: 'records_gone', reason: still, exitCode: 1, state: 'failed' });
    }, WORKTREE_GONE_CONFIRM_MS);
    this.timers.push(this.recordsLostTimer);
  }

  /** The write's error when a forced write failed (the heartbeat is kept best-effort otherwise). */
  private writeHeartbeat(force = false): Error | undefined {
    const now = Date.now();
    const interval = this.spec.limits.heartbeatIntervalMs;
    if (!force && now - this.hbLastWrite < interval) {
      if (!this.hbTimer) {
        this.hbTimer = setTimeout(
          () => {
            this.hbTimer = undefined;
            this.writeHeartbeat(true);
          },
          timerPeriod(interval - (now - this.hbLastWrite)),
        );
      }
      return;
    }
    this.hbLastWrite = now;
    // the heartbeat in the job's place is another instance's now: it must not be overwritten
    if (this.recordsLoss() === 'job_replaced') return;
    const hb = this.hb;
    const record: HeartbeatRecord = {
      run_instance: this.spec.runInstance,
      watcher_pid: this.self.pid,
      watcher_start_ticks: this.self.startTicks!,
      agent_pid: this.agent?.pid,
      agent_start_ticks: this.agent?.startTicks,
      boot_id: this.self.bootId,
      launched_at: iso(this.launchedAt),
      updated_at: iso(now),
      events: hb.events,
      tool_calls: hb.toolCalls,
      messages: hb.messages,
      provider_retries: hb.providerRetries,
      last_event_at: hb.lastEventAt ? iso(hb.lastEventAt) : undefined,
      last_event_kind: hb.lastEventKind,
      last_event_detail: hb.lastEventDetail?.slice(0, 200),
      rate_limited_until: hb.rateLimitedUntil ? iso(hb.rateLimitedUntil) : undefined,
      rate_limit_detail: hb.rateLimitDetail?.slice(0, 200),
      final_result_at: hb.finalAt ? iso(hb.finalAt) : undefined,
      final_ok: hb.finalOk,
      writes_refused: hb.writesRefused,
      mutations: this.tracker.snapshot.mutations,
      start_head: this.tracker.snapshot.startHead,
      last_mutation_at: hb.lastMutationAt ? iso(hb.lastMutationAt) : undefined,
      tokens_input: hb.tokensInput,
      tokens_output: hb.tokensOutput,
      cost_usd: hb.costUsd,
      output_bytes: this.outputBytes,
      log_bytes_dropped: this.agentLog?.counts.dropped,
      terminating: this.termination?.reason,
      agent_exit_code: this.agentExit?.code ?? undefined,
      agent_exit_signal: this.agentExit?.signal ?? undefined,
      agent_exited_at: this.agentExit ? iso(this.agentExit.at) : undefined,
      resumed_at: hb.resumedAt ? iso(hb.resumedAt) : undefined,
      frozen_sec: hb.frozenMs > 0 ? Math.round(hb.frozenMs / 1000) : undefined,
      tool_cpu_sec: hb.toolCpuSec === undefined ? undefined : Math.round(hb.toolCpuSec * 10) / 10,
      tools_busy_at: hb.toolsBusyAt ? iso(hb.toolsBusyAt) : undefined,
      repeated_tool_calls: hb.repeatedToolCalls,
      repeated_tool_call: hb.repeatedToolCall,
    };
    try {
      writeRecord(this.spec.paths.heartbeat, 'heartbeat', record, this.redactor, {
        spares: [this.spec.paths.heartbeat],
      });
      return undefined;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'heartbeat write failed');
      return err as Error;
    }
  }

  private readControl(): Termination | undefined {
    try {
      const text = readFileIfExists(this.spec.paths.control);
      if (!text) return undefined;
      const kv = parseKv(text, this.spec.paths.control);
      if (kv.run_instance !== this.spec.runInstance) return undefined;
      const action = kv.action as Termination['action'];
      if (!['stop', 'finalize', 'restart', 'block', 'timeout'].includes(action)) return undefined;
      const exitCode = Number(kv.exit_code);
      return {
        action,
        reason: kv.reason || action,
        exitCode: Number.isInteger(exitCode) ? exitCode : 1,
        state: action === 'block' ? 'blocked' : undefined,
      };
    } catch {
      return undefined;
    }
  }

  private async onSignal(signal: NodeJS.Signals): Promise<void> {
    const requested = this.readControl() ?? {
      action: 'signal' as const,
      reason: 'watcher_terminated',
      exitCode: 128 + signalNumber(signal),
    };
    this.log.info({ signal, action: requested.action, reason: requested.reason }, 'termination requested');
    if (!this.child) {
      // Signalled before the agent existed: nothing to stop, but the job still gets its outcome.
      this.termination = requested;
      await this.failBeforeLaunch(requested.reason, 'crashed', `stopped before launch (${signal})`, requested.exitCode);
      return;
    }
    await this.terminate(requested);
  }

  private async terminate(request: Termination): Promise<void> {
    if (this.termination) return;
    if (!this.agent) {
      // spawn() returned but the 'spawn' event has not fired yet; act as soon as it does
      this.pendingTermination ??= request;
      return;
    }
    this.termination = request;
    this.writeHeartbeat(true);
    const result = await terminateGroup(this.agent, this.spec.limits.killGraceMs);
    if (result === 'refused')
      this.log.error(
        { reason: request.reason },
        'cannot prove the agent is ours (no kernel start time): not signalled',
      );
    else this.log.info({ result, reason: request.reason }, 'agent process group terminated');
  }

  private async onExit(
    code: number | null,
    signal: NodeJS.Signals | null,
    streamsClosed: Promise<unknown>,
    flush: () => void,
  ): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.runtimeTimer?.clear();
    this.finalGraceTimer?.clear();
    if (this.mutationTimer) clearTimeout(this.mutationTimer);
    // on record at once: what follows (its leftovers ended, its output drained) can take seconds,
    // and a watcher lost meanwhile must not take the agent's own exit with it
    this.agentExit = { code, signal, at: Date.now() };
    this.writeHeartbeat(true);
    // Children the agent left behind in its group would hold our pipes open and outlive the job.
    let leftovers = false;
    if (this.agent && groupAlive(this.agent)) {
      leftovers = true;
      await terminateGroup(this.agent, Math.min(this.spec.limits.killGraceMs, 5000));
    }
    // and children that left the group (setsid, a daemon) would outlive it unseen
    const escapees = this.agent ? findEscapees(this.mark, this.agent) : [];
    if (escapees.length > 0) {
      this.log.warn({ pids: escapees.map((e) => e.pid) }, "ending the agent's children that left its process group");
      await endEscapees(escapees, Math.min(this.spec.limits.killGraceMs, 5000));
    }
    await Promise.race([streamsClosed, sleep(3000)]);
    this.child?.stdout?.destroy();
    this.child?.stderr?.destroy();
    flush();
    const mutation = await this.pollMutations(true);
    const exit: AgentExit = {
      exitCode: code,
      signal,
      events: this.notable.toArray(),
      stdoutTail: this.stdoutTail.toArray(),
      stderrTail: this.stderrTail.toArray(),
    };
    const decided = this.decide(exit, mutation);
    this.log.info(
      {
        exit_code: code,
        signal,
        state: decided.state,
        reason: decided.reasonCode,
        leftovers,
        escapees: escapees.length,
      },
      'agent exited',
    );
    await this.finish(decided, mutation, signal);
    process.exit(0);
  }

  private classify(exit: AgentExit): FailureClassification {
    const fallback: FailureClassification = { reasonCode: 'process_exit_nonzero', failureClass: 'crashed' };
    let classified: unknown;
    try {
      classified = this.runtime.classifyFailure(exit, providerKit);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'provider classifier threw');
      return fallback;
    }
    const c = classified as Record<string, unknown> | null | undefined;
    if (typeof c?.reasonCode !== 'string' || c.reasonCode === '' || typeof c.failureClass !== 'string') {
      this.log.warn('provider classifier returned no reason code and failure class');
      return fallback;
    }
    // only what has the contract's type goes on: the outcome redacts and records each field as its kind
    const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      reasonCode: c.reasonCode,
      failureClass: c.failureClass as FailureClassification['failureClass'],
      retryAfterSec: typeof c.retryAfterSec === 'number' ? c.retryAfterSec : undefined,
      resetAt: text(c.resetAt),
      summary: text(c.summary),
      nextAction: text(c.nextAction),
    };
  }

  private decide(exit: AgentExit, mutation: MutationSnapshot): Decision {
    return decideOutcome({
      exit,
      termination: this.termination,
      mutations: mutation.mutations,
      lost: mutation.lost,
      finalOk: this.hb.finalOk,
      writesRefused: this.hb.writesRefused,
      expectNoChanges: this.spec.expectNoChanges,
      outputCapBytes: this.spec.limits.outputCapBytes,
      logErrorCode: this.agentLog?.error?.code ?? this.recordErrorCode,
      classify: (e) => this.classify(e),
    });
  }

  private async onSpawnError(err: NodeJS.ErrnoException): Promise<void> {
    const exit: AgentExit = {
      exitCode: null,
      signal: null,
      spawnErrorCode: err.code,
      spawnErrorMessage: err.message,
      events: [],
      stdoutTail: [],
      stderrTail: [],
    };
    const classification = this.classify(exit);
    const decided: Decision = {
      state: 'failed',
      exitCode: err.code === 'ENOENT' ? 127 : 126,
      reasonCode: classification.reasonCode,
      classification,
    };
    this.log.error({ code: err.code }, 'agent could not be started');
    await this.finish(decided, this.tracker.snapshot, null);
    this.ack({
      ok: false,
      reasonCode: classification.reasonCode,
      failureClass: classification.failureClass,
      message: this.redactor.redact(
        classification.summary ?? `cannot start ${path.basename(this.spec.launch.command)}: ${err.code ?? err.message}`,
      ),
      exitCode: decided.exitCode,
    });
    process.exit(0);
  }

  private async failBeforeLaunch(
    reasonCode: string,
    failureClass: string,
    message: string,
    exitCode: number,
  ): Promise<void> {
    this.log.error({ reason: reasonCode }, message);
    const decided: Decision = {
      state: 'failed',
      exitCode,
      reasonCode,
      classification: { reasonCode, failureClass: 'crashed', summary: message },
    };
    await this.finish(decided, this.tracker.snapshot, null);
    this.ack({ ok: false, reasonCode, failureClass, message: this.redactor.redact(message), exitCode });
    process.exit(0);
  }

  /** Put the job's directory and meta back (never over another's) so its outcome can be read. */
  private restoreMeta(): void {
    const { paths } = this.spec;
    if (!this.metaText) return;
    try {
      ensurePrivateDir(path.dirname(paths.meta));
      writeFileExclusive(paths.meta, this.metaText);
    } catch (err) {
      this.log.error({ err: (err as Error).message }, "could not put the job's meta back");
    }
  }

  private async finish(decided: Decision, mutation: MutationSnapshot, signal: string | null): Promise<void> {
    const { paths, outcomeBase } = this.spec;
    const now = Date.now();
    const startedMs = Date.parse(outcomeBase.startedAt);
    const hb = this.hb;
    const logCounts = this.agentLog?.seal() ?? { total: 0, dropped: 0 };
    const outcome: OutcomeRecord = {
      beads: this.spec.beads,
      provider: this.spec.provider,
      run_id: this.spec.runId,
      exit_code: decided.exitCode,
      state: decided.state,
      reason_code: decided.reasonCode,
      completed_at: iso(now),
      duration_sec: Number.isFinite(startedMs) ? Math.max(0, Math.round((now - startedMs) / 1000)) : 0,
      retries: outcomeBase.retries,
      selected_model: outcomeBase.selectedModel,
      fallback_reason: outcomeBase.fallbackReason,
      run_instance: this.spec.runInstance,
      host: outcomeBase.host,
      cwd: outcomeBase.cwd,
      worktree: this.spec.worktree,
      provider_switch_from: outcomeBase.providerSwitchFrom,
      started_at: outcomeBase.startedAt,
      signal: signal ?? undefined,
      failure_class: decided.classification?.failureClass,
      retry_after_sec: seconds(decided.classification?.retryAfterSec),
      // a job ended (stopped, timed out) while it waited out a rate limit: when the limit lifts is still worth knowing
      reset_at:
        decided.classification?.resetAt ??
        (hb.rateLimitedUntil !== undefined && hb.rateLimitedUntil > now ? iso(hb.rateLimitedUntil) : undefined),
      summary: decided.classification?.summary
        ? this.redactor.redact(decided.classification.summary).slice(0, 500)
        : undefined,
      next_action: decided.classification?.nextAction,
      mutations: mutation.mutations,
      changed_files: mutation.changedFiles.slice(0, MAX_CHANGED_FILES_RECORDED),
      new_untracked_files: mutation.newUntrackedFiles,
      commits: mutation.commits,
      start_head: mutation.startHead,
      end_head: mutation.head,
      log_bytes: logCounts.total - logCounts.dropped,
      log_bytes_total: logCounts.total,
      log_bytes_dropped: logCounts.dropped,
      watcher_cpu_ms: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
      frozen_sec: hb.frozenMs > 0 ? Math.round(hb.frozenMs / 1000) : undefined,
      events: hb.events,
      tool_calls: hb.toolCalls,
      provider_retries: hb.providerRetries,
      tokens_input: hb.tokensInput,
      tokens_output: hb.tokensOutput,
      cost_usd: hb.costUsd,
      final_text: this.finalText,
      hung_after_final_result: this.hungAfterFinal || undefined,
      writes_refused: hb.writesRefused,
      finalized_by: decided.finalizedBy,
    };
    if (this.hbTimer) clearTimeout(this.hbTimer);
    if (this.termination?.action === 'records_gone') this.restoreMeta();
    // an instance that is no longer the job's current one (the job was replaced) writes nothing more
    if (!isCurrentInstance(paths, this.spec.runInstance)) {
      this.log.warn("this instance is no longer the job's current one; its outcome is not written");
      return;
    }
    try {
      const leftOut = (field: string, why: string) =>
        this.log.error({ field, err: why }, 'outcome field left out: its value could not be recorded');
      if (publishOutcome(paths, outcome, this.redactor, leftOut) === 'kept_existing')
        this.log.warn('an outcome for this instance already existed; kept it');
    } catch (err) {
      this.log.error({ err: (err as Error).message }, 'could not write the outcome');
    }
    this.writeHeartbeat(true);
    cleanupInstance(paths, this.spec.runInstance, { keepHome: this.spec.keepHome });
    releaseWorktreeClaim(this.spec.worktree, this.spec.runInstance);
  }
}

/** An event as the provider contract has it: an object naming its kind. */
function isEvent(event: unknown): event is AgentEvent {
  return typeof event === 'object' && event !== null && typeof (event as { kind?: unknown }).kind === 'string';
}

/** A count a provider reported, as records hold one: whole and not negative, else none. */
function count(n: number | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : undefined;
}

/** An amount a provider reported (a cost): finite and not negative, else none. */
function amount(n: number | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? n : undefined;
}

/** A wait a provider reported, in whole seconds (rounded up: never sooner than it said). */
function seconds(n: number | undefined): number | undefined {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.ceil(n) : undefined;
}

/** Diagnostics as plain JSON lines, for when pino itself cannot be set up. */
function plainLogger(sink: DiagnosticsSink, redactor: Redactor, first: string): Logger {
  const write = (level: string) => (obj: unknown, msg?: string) => {
    const fields = typeof obj === 'string' ? { msg: obj } : { ...(obj as object), msg };
    sink.write(`${redactor.redact(JSON.stringify({ level, time: new Date().toISOString(), ...fields }))}\n`);
  };
  const logger = {
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    debug: () => undefined,
  } as unknown as Logger;
  logger.warn(first);
  return logger;
}

/** Where the watcher's own diagnostics go (its capped log); never throws. */
export interface DiagnosticsSink {
  write(text: string): void;
}
