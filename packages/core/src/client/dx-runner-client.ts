import type { z } from 'zod';
import {
  CheckOutputSchema,
  DiskOutputSchema,
  ErrorOutputSchema,
  JobReportSchema,
  LogsOutputSchema,
  PreflightChainOutputSchema,
  PreflightOutputSchema,
  PruneOutputSchema,
  ReleaseOutputSchema,
  StartOutputSchema,
  StatusOutputSchema,
  StopOutputSchema,
  WaitOutputSchema,
  type CheckOutput,
  type DiskOutput,
  type JobReport,
  type LogsOutput,
  type PreflightChainOutput,
  type PreflightOutput,
  type PruneOutput,
  type ReleaseOutput,
  type StartOutput,
  type StatusOutput,
  type StopOutput,
  type WaitOutput,
} from '../schemas/outputs.js';
import { runChild } from '../process/run.js';
import { NO_JOB_END_EVENTS, type JobEndWatch } from '../jobs/file-events.js';
import type { LocalReads } from './local-reads.js';
import type { LocalStarts } from './local-starts.js';
import { findExecutable } from '../providers/services.js';
import { measureHostClock, SAME_CLOCK, type HostClock } from '../fleet/host-clock.js';

/** SIGHUP, SIGINT, SIGTERM: the codes a command that finishes in order after one of them exits with. */
const INTERRUPTED_EXIT_CODES = [129, 130, 143];

/** A dx-runner call that ended by SIGHUP, SIGINT or SIGTERM before it answered (a Ctrl-C, cron's timeout). */
export function endedBySignal(err: unknown): boolean {
  return err instanceof DxRunnerError && INTERRUPTED_EXIT_CODES.includes(err.exitCode);
}

/**
 * argv prefix that runs dx-runner: DX_RUNNER_BIN, else `dx-runner` on PATH, else `fallback` (the
 * caller's own copy: the siblings pass the @dx/cli they ship with). Core never looks for the CLI.
 */
export function dxRunnerCommand(env: NodeJS.ProcessEnv = process.env, fallback?: string[]): string[] {
  const explicit = env.DX_RUNNER_BIN?.trim();
  const onPath = findExecutable('dx-runner', env);
  const command = explicit ? [explicit] : onPath ? [onPath] : fallback;
  if (!command)
    throw new DxRunnerError(
      'dx-runner not found: set DX_RUNNER_BIN or put dx-runner on PATH',
      127,
      'dx_runner_missing',
      'install_dx_runner',
      [],
    );
  return command;
}

/** A dx-runner command that answered with its JSON error object (or broke its contract). */
export class DxRunnerError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    readonly reasonCode: string,
    readonly nextAction: string | null,
    readonly args: string[],
  ) {
    super(message);
    this.name = 'DxRunnerError';
  }
}

export interface TransportRunOptions {
  timeoutMs: number;
  stdin?: string;
}

/** How the client reaches a dx-runner: a local process, or (for a fleet host) the system ssh client. */
export interface DxRunnerTransport {
  /** Names the dx-runner this transport reaches, for messages (`dx-runner`, `ssh epyc6 dx-runner`). */
  readonly label: string;
  /**
   * Run dx-runner with these arguments (`stdin`: written to its standard input, then closed); never
   * rejects for a non-zero exit of dx-runner, only when the transport itself fails.
   */
  run(args: string[], options: TransportRunOptions): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** dx-runner as a child process of this one (argv prefix, environment and working directory given). */
export class ProcessTransport implements DxRunnerTransport {
  readonly label: string;

  constructor(
    private readonly command: string[],
    private readonly env: NodeJS.ProcessEnv = process.env,
    private readonly cwd?: string,
  ) {
    if (command.length === 0) throw new Error('ProcessTransport needs a command');
    this.label = command.join(' ');
  }

  async run(args: string[], options: TransportRunOptions): Promise<{ code: number; stdout: string; stderr: string }> {
    const [cmd, ...prefix] = this.command;
    const r = await runChild(cmd, [...prefix, ...args], {
      cwd: this.cwd,
      env: { ...this.env, NODE_ENV: 'production' },
      stdin: options.stdin,
      timeoutMs: options.timeoutMs,
    });
    if (r.outcome === 'not_started')
      throw new DxRunnerError(
        `cannot run ${cmd}: ${r.error.code ?? r.error.message}`,
        127,
        'dx_runner_missing',
        'install_dx_runner',
        args,
      );
    if (r.outcome === 'timed_out')
      throw new DxRunnerError(
        `dx-runner ${args[0]} timed out after ${options.timeoutMs} ms`,
        124,
        'dx_runner_timeout',
        'retry',
        args,
      );
    return r;
  }
}

export type DxRunnerClientOptions = {
  timeoutMs?: number;
  /** Answer check/status-of-a-list/report/logs in this process (only for this toolkit's own local dx-runner). */
  localReads?: LocalReads;
  /** Run `start` in this process (same conditions); a start it cannot take goes to dx-runner. */
  localStarts?: LocalStarts;
} & ({ transport: DxRunnerTransport } | { command: string[]; env?: NodeJS.ProcessEnv; cwd?: string });

export interface StartRequest {
  beads: string;
  provider?: string;
  profile?: string;
  /** The prompt's file; or `prompt`, the text itself, sent on stdin (`--prompt-file -`) to a host that cannot read our files. */
  promptFile?: string;
  prompt?: string;
  /** Without it dx-runner uses DX_RUNNER_DEFAULT_WORKTREE or the git worktree around its cwd. */
  worktree?: string;
  model?: string;
  policy?: string;
  /** `dx-batch:<wave>`, `nightly-dispatch:<run>`: the watchdog leaves the job's restarts to its owner. */
  owner?: string;
  /** A read-only task (a review): exiting without changes is success. */
  expectNoChanges?: boolean;
}

/**
 * The siblings' only way to run jobs: runs `dx-runner … --json` and validates the output
 * with the same zod schemas dx-runner declares. Non-zero exit codes that carry a state (check: 2, 3,
 * 23) are results, not errors.
 */
export class DxRunnerClient {
  readonly transport: DxRunnerTransport;
  private readonly timeoutMs: number;
  private readonly localReads?: LocalReads;
  private readonly localStarts?: LocalStarts;

  constructor(options: DxRunnerClientOptions) {
    this.localReads = options.localReads;
    this.localStarts = options.localStarts;
    this.transport =
      'transport' in options ? options.transport : new ProcessTransport(options.command, options.env, options.cwd);
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  private exec(args: string[], stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.transport.run(args, { timeoutMs: this.timeoutMs, stdin });
  }

  /** Run one command with --json; exit codes in `results` are answers, any other is an error. */
  async call<S extends z.ZodType>(
    args: string[],
    schema: S,
    results: number[] = [0],
    stdin?: string,
  ): Promise<{ exitCode: number; data: z.output<S> }> {
    const full = [...args, '--json'];
    const r = await this.exec(full, stdin);
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.stdout);
    } catch {
      throw new DxRunnerError(
        `dx-runner ${args[0]} did not print JSON (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}`,
        r.code || 1,
        'dx_runner_bad_output',
        null,
        full,
      );
    }
    const error = ErrorOutputSchema.safeParse(parsed);
    if (error.success) {
      const e = error.data.error;
      throw new DxRunnerError(e.message, e.exit_code, e.reason_code, e.next_action, full);
    }
    if (!results.includes(r.code)) {
      throw new DxRunnerError(`dx-runner ${args[0]} exited ${r.code}`, r.code, 'dx_runner_failed', null, full);
    }
    const data = schema.safeParse(parsed);
    if (!data.success) {
      throw new DxRunnerError(
        `dx-runner ${args[0]} output does not match its schema: ${data.error.issues[0]?.path.join('.')}: ${data.error.issues[0]?.message}`,
        r.code || 1,
        'dx_runner_contract_violation',
        null,
        full,
      );
    }
    return { exitCode: r.code, data: data.data };
  }

  async start(req: StartRequest): Promise<StartOutput> {
    if (this.localStarts && req.prompt === undefined && (await this.localStarts.available()))
      return this.localStarts.start(req);
    const args = [
      'start',
      '--beads',
      req.beads,
      '--prompt-file',
      req.prompt !== undefined ? '-' : (req.promptFile ?? ''),
      ...(req.worktree ? ['--worktree', req.worktree] : []),
    ];
    if (req.provider) args.push('--provider', req.provider);
    if (req.profile) args.push('--profile', req.profile);
    if (req.model) args.push('--model', req.model);
    if (req.policy) args.push('--policy', req.policy);
    if (req.owner) args.push('--owner', req.owner);
    if (req.expectNoChanges) args.push('--expect-no-changes');
    // a start interrupted after its hand-over prints its result and exits with the signal's code:
    // the job was launched and runs (the result is the answer, whatever the code)
    return (await this.call(args, StartOutputSchema, [0, ...INTERRUPTED_EXIT_CODES], req.prompt)).data;
  }

  async check(beads: string): Promise<{ exitCode: number; view: CheckOutput }> {
    if (this.localReads) return this.localReads.check(beads);
    const r = await this.call(['check', '--beads', beads], CheckOutputSchema, [0, 2, 3, 23]);
    return { exitCode: r.exitCode, view: r.data };
  }

  /**
   * The latest instance of several jobs in one call (`status --beads a,b,… --json`): their views,
   * the ids this dx-runner has no record of, and the host's clock as this answer showed it (the
   * views' times are the host's: compare them with ours through `certainlyBefore`).
   */
  async checkMany(beadsIds: readonly string[]): Promise<{ jobs: CheckOutput[]; missing: string[]; clock: HostClock }> {
    if (beadsIds.length === 0) return { jobs: [], missing: [], clock: SAME_CLOCK };
    if (this.localReads) return { ...this.localReads.checkMany(beadsIds), clock: SAME_CLOCK };
    const askedAt = Date.now();
    try {
      const { data } = await this.call(['status', '--beads', beadsIds.join(',')], StatusOutputSchema);
      const clock = measureHostClock(data.generated_at, askedAt, Date.now());
      if (!clock)
        throw new DxRunnerError(
          `dx-runner status answered an unreadable generated_at (${JSON.stringify(data.generated_at)})`,
          1,
          'dx_runner_bad_output',
          null,
          [],
        );
      return { jobs: data.jobs, missing: data.missing ?? [], clock };
    } catch (err) {
      // one id is answered like `check`: no record is an error there (and there is no time to compare)
      if (beadsIds.length === 1 && err instanceof DxRunnerError && err.reasonCode === 'job_not_found')
        return { jobs: [], missing: [...beadsIds], clock: SAME_CLOCK };
      throw err;
    }
  }

  /**
   * Calls `onEnd(beads)` soon after a job ends, when this client reads this machine's state
   * in-process (file events on its state root, for every job there: filter by beads id); `null` means
   * "some job, unknown which". For any other dx-runner it never calls, and the caller's poll notices
   * ends as before. The caller closes the subscription.
   */
  watchJobEnds(onEnd: (beads: string | null) => void): JobEndWatch {
    return this.localReads?.watchJobEnds(onEnd) ?? NO_JOB_END_EVENTS;
  }

  /** Block until the job ends (or `timeoutSec` passes: exit 124, `timed_out`); the exit code is check's for the final state. */
  async wait(beads: string, timeoutSec?: number): Promise<{ exitCode: number; view: WaitOutput }> {
    const r = await this.call(
      ['wait', beads, ...(timeoutSec !== undefined ? ['--timeout', String(timeoutSec)] : [])],
      WaitOutputSchema,
      [0, 2, 3, 23, 124],
    );
    return { exitCode: r.exitCode, view: r.data };
  }

  async stop(beads: string): Promise<StopOutput> {
    return (await this.call(['stop', '--beads', beads], StopOutputSchema)).data;
  }

  /** `retention`: also remove finished jobs past the policy's retention. */
  async prune(options: { retention?: boolean } = {}): Promise<PruneOutput> {
    // exit 1 with its result: some jobs could not be removed (`not_removed`), the rest were
    return (await this.call(['prune', ...(options.retention ? ['--retention'] : [])], PruneOutputSchema, [0, 1])).data;
  }

  async status(recent = 0): Promise<StatusOutput> {
    if (this.localReads) return this.localReads.status(recent);
    return (await this.call(['status', ...(recent > 0 ? ['--recent', String(recent)] : [])], StatusOutputSchema)).data;
  }

  /**
   * The jobs with a live agent or watcher: `status`'s rows that name a live pid. Answered in-process
   * from the jobs that have a pid file only; through a dx-runner process, from its whole `status`.
   */
  async jobsWithProcesses(): Promise<StatusOutput['jobs']> {
    if (this.localReads) return this.localReads.jobsWithProcesses();
    return (await this.status()).jobs.filter((j) => j.pid !== null || j.watcher_pid !== null);
  }

  async preflight(provider: string, policy?: string): Promise<PreflightOutput> {
    return (
      await this.call(
        ['preflight', '--provider', provider, ...(policy ? ['--policy', policy] : [])],
        PreflightOutputSchema,
        [0, 20, 21, 25],
      )
    ).data;
  }

  /** The shared fallback-chain preflight (every result kept, primary failure named); `chain` overrides the policy's. */
  async preflightChain(policy?: string, chain?: string[]): Promise<{ exitCode: number; chain: PreflightChainOutput }> {
    const args = [
      'preflight',
      ...(policy ? ['--policy', policy] : []),
      ...(chain?.length ? ['--chain', chain.join(',')] : []),
    ];
    const r = await this.call(args, PreflightChainOutputSchema, [0, 20, 21, 25]);
    return { exitCode: r.exitCode, chain: r.data };
  }

  /** `logLines`: the report carries the log's last lines (`log_tail`); asked of an older dx-runner with `logs`. */
  async report(beads: string, logLines?: number): Promise<JobReport> {
    if (this.localReads) return this.localReads.report(beads, logLines);
    const args = ['report', '--beads', beads];
    if (!logLines) return (await this.call(args, JobReportSchema)).data;
    try {
      return (await this.call([...args, '--log-lines', String(logLines)], JobReportSchema)).data;
    } catch (err) {
      // a dx-runner from before --log-lines refuses the flag: two calls, as it used to be
      if (!(err instanceof DxRunnerError) || !['invalid_flag', 'usage'].includes(err.reasonCode)) throw err;
      const [report, logs] = await Promise.all([
        this.call(args, JobReportSchema),
        this.logs(beads, logLines).catch(() => null),
      ]);
      return { ...report.data, ...(logs ? { log_tail: logs.lines } : {}) };
    }
  }

  /** Let retention remove the jobs an owner (a wave) held; answered even when there was no hold. */
  async release(owner: string): Promise<ReleaseOutput> {
    return (await this.call(['release', '--owner', owner], ReleaseOutputSchema)).data;
  }

  /** Disk use and free space where this dx-runner keeps its state. */
  async disk(): Promise<DiskOutput> {
    return (await this.call(['status', '--disk'], DiskOutputSchema)).data;
  }

  async logs(beads: string, lines: number): Promise<LogsOutput> {
    if (this.localReads) return this.localReads.logs(beads, lines);
    return (await this.call(['logs', '--beads', beads, '--lines', String(lines)], LogsOutputSchema)).data;
  }
}
