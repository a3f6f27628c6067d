import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { validateEnv } from '../config/env.js';
import { decodeText, inputFileProblem, readInputFile, readToEnd, type InputFileError } from '../config/input-file.js';
import { DxError, ExitCode } from '../errors.js';
import { baselineGate } from '../gates/baseline.js';
import { readAllowedPaths } from '../gates/scope.js';
import {
  assertGitCanUseWorktree,
  checkWorktree,
  locateWorktree,
  mayBeAnotherUsersRepository,
} from '../gates/worktree.js';
import { maxParallelFor } from '../policy/load.js';
import type { Policy } from '../policy/schema.js';
import { identify, readProcessInfo } from '../process/identity.js';
import { sendSignal } from '../process/signals.js';
import type { LaunchRequest, LaunchSpec, Provider } from '../providers/contract.js';
import { resolveModel } from '../providers/models.js';
import { preflightProvider } from '../providers/preflight.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { profileLimits, type Profile } from '../profiles/profiles.js';
import type { StartOutput } from '../schemas/outputs.js';
import { Redactor } from '../secrets/redact.js';
import { ensurePrivateDir, readFileIfExists, removeTree, writeFileAtomic } from '../state/atomic.js';
import { jobPaths, listBeadsInProviderDir, rotateFile, type JobPaths } from '../state/layout.js';
import { acquireLock, LockTimeoutError, type Lock } from '../state/lock.js';
import { openStateRoot } from '../state/root.js';
import { assertBeadsId } from './beads-id.js';
import { limitsFromEnv, type JobLimits } from './limits.js';
import type { MetaRecord } from './records.js';
import { sealLog } from './capped-log.js';
import { awaitWatcherExit, identityUnprovenError, lockJob } from './control.js';
import { asDiskFull, assertFreeSpace, keepReserve } from './disk.js';
import { assertOwner, placeHold } from './holds.js';
import { writeRecord } from './record-io.js';
import { agentGitConfig, operatorDotfiles, withAgentHomeFiles } from './agent-home.js';
import { assertRecordsOutsideWorktree, assertWorktreeFree, lockWorktree } from './worktree-use.js';
import { describeRunning, findLatestJob, isLive, loadJob, providersForBeads, runningWithoutMeta } from './store.js';
import { prespawnWatcher, type PrespawnedWatcher } from './watcher/prespawn.js';
import { LaunchSpecSchema, type WatcherAck, type WatcherSpec } from './watcher/spec.js';

export const MAX_PROMPT_BYTES = 1024 * 1024;
const MB = 1024 * 1024;
const ACK_TIMEOUT_MS = 30_000;

export interface StartJobOptions {
  beads: string;
  /** Provider id; defaults to the profile's. */
  provider?: string;
  registry: ProviderRegistry;
  promptFile?: string;
  worktree?: string;
  model?: string;
  profile?: Profile;
  /** Run the provider's preflight first and refuse to launch when it fails (exit 21/25). */
  preflight?: boolean;
  /** Refuse to launch unless the worktree's HEAD contains this commit (baseline gate). */
  requiredBaseline?: string;
  /** Recorded for the job's scope gate. */
  allowedPathsFile?: string;
  mutationBudget?: number;
  /** Who starts the job when it is not an operator (`dx-batch:<wave>`): the watchdog leaves its restarts to the owner. */
  owner?: string;
  /** A read-only task: exiting 0 without changes is `exited_ok` (read_only_ok), not `no_op`. */
  expectNoChanges?: boolean;
  /** The scenario a simulator plays; refused for a real provider. */
  scenario?: string;
  dryRun?: boolean;
  policy: Policy;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  version?: string;
  /** A watcher spawned early by the CLI (see prespawn.ts); cancelled if the start is refused. */
  watcher?: PrespawnedWatcher;
}

export type StartResult = StartOutput;

function fail(message: string, exitCode: number, reasonCode: string, nextAction?: string): never {
  throw new DxError(message, { exitCode, reasonCode, nextAction });
}

/** Read and vet a prompt file; it is copied into the state dir so restarts never depend on it. */
export function readPromptFile(file: string): string {
  if (file === '-') return readPromptFromStdin();
  let text: string;
  try {
    text = readInputFile(file, MAX_PROMPT_BYTES);
  } catch (err) {
    const { code, size } = err as InputFileError;
    if (code === 'ENOENT')
      fail(`prompt file not found: ${file}`, ExitCode.general, 'prompt_file_missing', 'pass_an_existing_--prompt-file');
    if (code === 'ENOTREG')
      fail(
        `prompt file is not a file or a pipe: ${file}`,
        ExitCode.general,
        'prompt_file_invalid',
        'pass_a_regular_file',
      );
    if (code === 'EFBIG')
      fail(
        `prompt file is too large: ${file} (${size} bytes, limit ${MAX_PROMPT_BYTES})`,
        ExitCode.general,
        'prompt_file_too_large',
      );
    if (code === 'EILSEQ')
      fail(`prompt file ${(err as Error).message}`, ExitCode.general, 'prompt_not_utf8', 'save_the_prompt_as_utf8');
    fail(
      `prompt file not readable: ${file} (${code})`,
      ExitCode.general,
      'prompt_file_unreadable',
      'fix_the_prompt_file_permissions',
    );
  }
  if (text.trim() === '')
    fail(`prompt file is empty: ${file}`, ExitCode.general, 'prompt_file_empty', 'write_the_task_into_the_prompt_file');
  return text;
}

/**
 * `--prompt-file -`: the prompt arrives on stdin (how `start --host` sends it over the SSH channel,
 * so it is never in an argv nor in a file on a shared path).
 */
function readPromptFromStdin(): string {
  let text: string;
  try {
    text = decodeText('the prompt on stdin', readToEnd(0, MAX_PROMPT_BYTES));
  } catch (err) {
    const { code } = err as InputFileError;
    if (code === 'EFBIG')
      fail(`prompt on stdin is too large (over ${MAX_PROMPT_BYTES} bytes)`, ExitCode.general, 'prompt_file_too_large');
    if (code === 'EILSEQ') fail((err as Error).message, ExitCode.general, 'prompt_not_utf8', 'save_the_prompt_as_utf8');
    fail(`prompt not readable from stdin (${code})`, ExitCode.general, 'prompt_file_unreadable', 'pipe_the_prompt');
  }
  if (text.trim() === '')
    fail('the prompt on stdin is empty', ExitCode.general, 'prompt_file_empty', 'pipe_the_task_on_stdin');
  return text;
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

function shortHost(): string {
  return os.hostname().split('.')[0] ?? os.hostname();
}

/** A redacted preview of the agent command line for dry runs and meta; the prompt is shown as its stdin. */
function commandPreview(spec: LaunchSpec): string {
  const args = spec.args.map((a) => (a.length > 200 ? `${a.slice(0, 40)}…` : a));
  const redactor = Redactor.fromEnv([spec.env], { names: spec.secretEnvNames, values: spec.secretValues });
  return redactor.redact([spec.command, ...args, ...(spec.stdinFile ? ['< <prompt file>'] : [])].join(' '));
}

/**
 * The launch a provider plugin built, checked before anything is recorded: a spec the watcher would
 * refuse (args that are not strings, a relative cwd) is the plugin's bug, named as such, and leaves
 * no half-launched job behind.
 */
export function assertLaunchSpec(spec: unknown, provider: string): asserts spec is LaunchSpec {
  const checked = LaunchSpecSchema.safeParse(spec);
  if (checked.success) return;
  const issue = checked.error.issues[0];
  throw new DxError(
    `provider ${provider} built a launch the watcher cannot run (${issue.path.join('.') || 'the spec'}: ${issue.message}); refusing to launch`,
    {
      exitCode: ExitCode.general,
      reasonCode: 'provider_launch_invalid',
      nextAction: 'report_a_bug_to_the_provider_plugin',
    },
  );
}

/**
 * The plugin's launch for `request`, refused unless the watcher can run it and `prompt` (the
 * request's own unless a placeholder stands in for it) stays off its command line.
 */
async function buildCheckedLaunch(
  provider: Provider,
  request: LaunchRequest,
  prompt = request.prompt,
): Promise<LaunchSpec> {
  const spec = await provider.buildLaunch(request);
  assertLaunchSpec(spec, provider.id);
  if (prompt) assertPromptOffArgv(spec, prompt, provider.id);
  return spec;
}

/**
 * Every user on the host can read every process's argv for as long as it runs (ps, /proc), so a
 * provider must hand the prompt over on stdin or in the job's private prompt file. A launch spec
 * that puts the prompt (or its first line) into an argument is refused.
 */
export function assertPromptOffArgv(spec: LaunchSpec, prompt: string, provider: string): void {
  const whole = prompt.trim();
  const first =
    whole
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  const needles = [whole, ...(first.length >= 20 && /\s/.test(first) ? [first] : [])].filter((n) => n.length >= 8);
  if (spec.args.some((arg) => needles.some((n) => arg.includes(n)))) {
    throw new DxError(
      `provider ${provider} put the prompt into the agent's command line, where every user on the host could read it; refusing to launch`,
      {
        exitCode: ExitCode.general,
        reasonCode: 'prompt_in_argv',
        nextAction: 'fix_the_provider_plugin_to_pass_the_prompt_on_stdin',
      },
    );
  }
}

interface LaunchParams {
  root: string;
  beads: string;
  provider: Provider;
  prompt: string;
  promptFile?: string;
  worktree: string;
  model?: string;
  profile?: string;
  policy: Policy;
  env: NodeJS.ProcessEnv;
  cwd: string;
  limits: JobLimits;
  retries: number;
  firstStartedAt?: string;
  version?: string;
  watcher?: PrespawnedWatcher;
  requiredBaseline?: string;
  allowedPathsFile?: string;
  mutationBudget?: number;
  owner?: string;
  expectNoChanges?: boolean;
  scenario?: string;
  /** The caller (restart, watchdog) already holds the job's lock. */
  lockHeld?: boolean;
}

function liveCount(root: string, provider: string): number {
  let live = 0;
  for (const beads of listBeadsInProviderDir(root, provider, '.pid')) {
    let text: string | undefined;
    try {
      text = readFileIfExists(jobPaths(root, provider, beads).pid);
    } catch {
      continue;
    }
    const pid = Number(text?.trim());
    const info = Number.isInteger(pid) ? readProcessInfo(pid) : undefined;
    if (info && info.state !== 'Z' && info.state !== 'X') live++;
  }
  return live;
}

/** Held while a launch counts live jobs, so a provider's concurrency cap cannot be raced. */
async function providerCapLock(root: string, provider: string): Promise<Lock> {
  try {
    return await acquireLock(root, `provider-${provider}`, 60_000);
  } catch (err) {
    if (err instanceof LockTimeoutError)
      fail(err.message, ExitCode.general, 'lock_timeout', 'retry_or_run_dx_runner_prune');
    throw err;
  }
}

async function assertNotRunning(root: string, beads: string): Promise<string[]> {
  const providers = providersForBeads(root, beads);
  for (const p of providers) {
    const job = loadJob(jobPaths(root, p, beads));
    if (job.identityUnproven) throw identityUnprovenError(job, 'start a new instance');
    // a record that cannot be read proves nothing about its processes: its heartbeat may
    const unread = runningWithoutMeta(job);
    if (unread.watcher || unread.agent)
      fail(
        `job ${beads} already running (provider ${p}, ${describeRunning(unread)}; its record is unreadable: ${job.corrupt?.message ?? 'no meta'}); run dx-runner stop --beads ${beads} first`,
        ExitCode.general,
        'job_already_running',
        'wait_for_it_or_run_dx_runner_stop',
      );
    if (isLive(job)) {
      fail(
        `job ${beads} already running (provider ${p}, pid ${job.heartbeat?.agent_pid ?? job.meta?.watcher_pid ?? '?'})`,
        ExitCode.general,
        'job_already_running',
        'wait_for_it_or_run_dx_runner_stop',
      );
    }
    if (!job.outcome && job.agentAlive) {
      fail(
        `job ${beads} (provider ${p}) lost its watcher but its agent pid ${job.heartbeat?.agent_pid} still runs; run dx-runner prune --beads ${beads} first`,
        ExitCode.general,
        'job_needs_prune',
        'run_dx_runner_prune',
      );
    }
    if (job.outcome && job.watcherAlive) await awaitWatcherExit(job);
  }
  return providers;
}

function clearInstanceFiles(paths: JobPaths): void {
  // a watcher that died before sealing its log left the tail apart: put it back first
  sealLog(paths.log, undefined);
  rotateFile(paths.log);
  rotateFile(paths.outcome);
  for (const f of [paths.heartbeat, paths.blocked, paths.control, paths.rc, paths.pid]) fs.rmSync(f, { force: true });
  for (const d of [paths.home, paths.tmp]) removeTree(d);
}

/**
 * A limit as the watcher takes it: whole milliseconds or bytes, at least one (a fraction of a
 * limit's unit, `max_log_mb: 0.0000001`, is a valid setting).
 */
function wholeUnits(n: number): number {
  return Math.max(1, Math.round(n));
}

function readAck(stream: Readable, timeoutMs: number): Promise<WatcherAck> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(
      () => done(new Error(`watcher did not acknowledge the launch within ${timeoutMs / 1000}s`)),
      timeoutMs,
    );
    const done = (err?: Error, ack?: WatcherAck) => {
      clearTimeout(timer);
      stream.removeAllListeners();
      if (err) reject(err);
      else resolve(ack!);
    };
    stream.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) {
        try {
          done(undefined, JSON.parse(buf.slice(0, nl)) as WatcherAck);
        } catch (err) {
          done(err as Error);
        }
      }
    });
    stream.on('end', () => done(new Error('watcher exited before acknowledging the launch')));
    stream.on('error', (err) => done(err));
  });
}

function metaRecord(p: {
  params: LaunchParams;
  paths: JobPaths;
  runInstance: string;
  runId: string;
  startedAt: string;
  spec: LaunchSpec;
  switchFrom: string[];
  watcher?: { pid: number; startTicks: number; bootId?: string };
}): MetaRecord {
  const { params, paths, spec } = p;
  return {
    beads: params.beads,
    provider: params.provider.id,
    run_instance: p.runInstance,
    run_id: p.runId,
    started_at: p.startedAt,
    first_started_at: params.firstStartedAt ?? p.startedAt,
    retries: params.retries,
    host: shortHost(),
    cwd: params.cwd,
    worktree: params.worktree,
    prompt_file: params.promptFile,
    prompt_copy: paths.prompt,
    model: params.model,
    selected_model: spec.selectedModel ?? params.model,
    fallback_reason: spec.fallbackReason ?? 'none',
    provider_switch_from: p.switchFrom,
    profile: params.profile,
    runtime_module: params.provider.runtimeModule,
    launch_command: path.basename(spec.command),
    watcher_pid: p.watcher?.pid,
    watcher_start_ticks: p.watcher?.startTicks,
    boot_id: p.watcher?.bootId,
    max_runtime_minutes: params.limits.maxRuntimeMinutes,
    no_mutation_timeout_minutes: params.limits.noMutationTimeoutMinutes,
    stall_minutes: params.limits.stallMinutes,
    max_repeated_tool_calls: params.limits.maxRepeatedToolCalls,
    mutation_poll_sec: params.limits.mutationPollSec,
    startup_grace_sec: params.limits.startupGraceSec,
    required_baseline: params.requiredBaseline,
    allowed_paths_file: params.allowedPathsFile,
    mutation_budget: params.mutationBudget,
    owner: params.owner,
    expect_no_changes: params.expectNoChanges || undefined,
    scenario: params.scenario,
    version: params.version,
  };
}

/**
 * Launch one instance: under the beads lock (so concurrent starts of one id yield one job) and the
 * provider lock (so the concurrency cap cannot be raced), rotate the previous instance's files,
 * write meta, spawn the detached watcher and wait for its acknowledgement.
 */
async function launch(params: LaunchParams): Promise<StartResult> {
  const { root, beads, provider } = params;
  // the agent's git settings, asked of git while the locks are taken; the same call tells a
  // repository git cannot use, and another user's repository (which it cannot see) is asked of
  // git beside it (any other failure costs only the settings)
  const gitAnswers = Promise.all([
    agentGitConfig(params.worktree, params.env),
    mayBeAnotherUsersRepository(params.worktree) ? assertGitCanUseWorktree(params.worktree, params.env) : undefined,
  ]).then(
    ([content]) => ({ content }),
    (err: unknown) => ({ refusal: err instanceof DxError ? err : undefined }),
  );
  await assertRecordsOutsideWorktree(root, params.worktree);
  const beadsLock: Lock | undefined = params.lockHeld ? undefined : await lockJob(root, beads);
  let worktreeLock: Lock | undefined;
  try {
    const providers = await assertNotRunning(root, beads);
    worktreeLock = await lockWorktree(root, params.worktree);
    assertWorktreeFree(root, beads, params.worktree, params.expectNoChanges ?? false);
    // (its git spawns ran beside the locks above: awaited before anything of the job is written)
    const asked = await gitAnswers;
    if ('refusal' in asked && asked.refusal) throw asked.refusal;
    const providerLock = await providerCapLock(root, provider.id);
    try {
      const cap = maxParallelFor(params.policy, provider.id, params.env);
      const live = liveCount(root, provider.id);
      if (live >= cap) {
        const envName = `DX_RUNNER_MAX_PARALLEL_${provider.id.toUpperCase().replace(/-/g, '_')}`;
        fail(
          `provider ${provider.id} concurrency cap reached (${live}/${cap} live jobs); wait, switch provider, or raise ${envName}`,
          ExitCode.general,
          'provider_concurrency_cap_exceeded',
          'wait_for_provider_capacity_or_switch_provider',
        );
      }
      assertFreeSpace(root, params.policy);
      keepReserve(root);
      if (params.owner) placeHold(root, params.owner);
      ensurePrivateDir(path.join(root, provider.id));
      const paths = jobPaths(root, provider.id, beads);
      // the plugin's launch is built and checked before anything of the job is touched: a refusal
      // leaves the previous instance's files and no prompt copy of its own behind
      const built = await buildCheckedLaunch(params.provider, {
        beads,
        prompt: params.prompt,
        promptFile: paths.prompt,
        worktree: params.worktree,
        model: params.model,
        jobHome: paths.home,
        jobTmp: paths.tmp,
        env: params.env,
        policy: params.policy.providers[provider.id],
        scenario: params.scenario,
      });
      const spec = withAgentHomeFiles(built, paths.home, {
        '.gitconfig': 'content' in asked ? asked.content : undefined,
        ...operatorDotfiles(params.env),
      });

      const previous = fs.existsSync(paths.meta) ? findLatestJob(root, beads) : undefined;
      clearInstanceFiles(paths);
      ensurePrivateDir(paths.home);
      ensurePrivateDir(paths.tmp);
      writeFileAtomic(paths.prompt, params.prompt);
      const now = new Date();
      const runId = stamp(now);
      let runInstance = `${runId}-${provider.id}-${process.pid}`;
      if (previous?.meta?.run_instance === runInstance) runInstance += `-${params.retries}`;
      const startedAt = now.toISOString();
      const switchFrom = providers.filter((p) => p !== provider.id);
      const meta = { params, paths, runInstance, runId, startedAt, spec, switchFrom };
      const redactor = Redactor.fromEnv([params.env, spec.env], {
        names: spec.secretEnvNames,
        values: spec.secretValues,
      });
      const watcherSpec: WatcherSpec = {
        paths,
        beads,
        provider: provider.id,
        runInstance,
        runId,
        runtimeModule: provider.runtimeModule,
        launch: spec,
        worktree: params.worktree,
        limits: {
          logCapBytes: wholeUnits(params.policy.limits.maxLogMb * MB),
          outputCapBytes: wholeUnits(params.policy.limits.maxOutputMb * MB),
          maxRuntimeMs: wholeUnits(params.limits.maxRuntimeMinutes * 60_000),
          finalExitGraceMs: wholeUnits(params.limits.finalExitGraceSec * 1000),
          killGraceMs: wholeUnits(params.limits.killGraceSec * 1000),
          mutationPollMs: wholeUnits(params.limits.mutationPollSec * 1000),
          heartbeatIntervalMs: wholeUnits(params.limits.heartbeatIntervalMs),
          freezeGapMs: wholeUnits(params.limits.freezeGapSec * 1000),
          gitTimeoutMs: wholeUnits(params.limits.gitTimeoutSec * 1000),
        },
        outcomeBase: {
          retries: params.retries,
          selectedModel: spec.selectedModel ?? params.model ?? 'unknown',
          fallbackReason: spec.fallbackReason ?? 'none',
          host: shortHost(),
          cwd: params.cwd,
          providerSwitchFrom: switchFrom,
          startedAt,
        },
        keepHome: params.env.DX_RUNNER_KEEP_JOB_HOME === '1',
        logLevel: params.env.DX_RUNNER_LOG_LEVEL || 'info',
        expectNoChanges: params.expectNoChanges ?? false,
      };
      const ack = await spawnWatcher(
        watcherSpec,
        (watcher) => writeRecord(paths.meta, 'meta', metaRecord({ ...meta, watcher }), redactor),
        params.watcher,
      );
      if (!ack.ok) {
        const exitCode =
          ack.failureClass === 'binary_missing' || ack.failureClass === 'auth_missing'
            ? ExitCode.preflightFailed
            : ack.failureClass === 'model_unavailable'
              ? ExitCode.modelUnavailable
              : ExitCode.general;
        throw new DxError(`provider ${provider.id} could not start the agent: ${ack.message}`, {
          exitCode,
          reasonCode: ack.reasonCode,
          nextAction: undefined,
          details: { failure_class: ack.failureClass, outcome: paths.outcome },
        });
      }
      return {
        beads,
        provider: provider.id,
        dry_run: false,
        state: 'launching',
        run_instance: runInstance,
        pid: ack.agentPid,
        watcher_pid: ack.watcherPid,
        log: paths.log,
        worktree: params.worktree,
        command: commandPreview(spec),
        selected_model: spec.selectedModel ?? params.model ?? null,
        fallback_reason: spec.fallbackReason ?? 'none',
        provider_switch_from: switchFrom,
        retries: params.retries,
      };
    } finally {
      providerLock.release();
    }
  } finally {
    worktreeLock?.release();
    beadsLock?.release();
  }
}

/**
 * Hands the job to a watcher and waits for its acknowledgement. `recordJob` writes the job's meta once
 * the watcher is identified, naming it (one durable write per start); a watcher that cannot be
 * identified gets a meta naming none, so the attempt is still on record (`launch_incomplete`).
 */
async function spawnWatcher(
  spec: WatcherSpec,
  recordJob: (watcher: { pid: number; startTicks: number; bootId?: string } | undefined) => void,
  early?: PrespawnedWatcher,
): Promise<WatcherAck> {
  const prepared = early && !early.consumed ? early : prespawnWatcher();
  prepared.consumed = true;
  const { child } = prepared;
  const pid = await prepared.spawned;
  // a watcher that gets no spec (its stdin closed empty) exits; `start` must not wait on its pipes
  const letGo = () => {
    (child.stdio[3] as Readable).destroy();
    child.stdin!.destroy();
    child.unref();
  };
  const watcher = identify(pid);
  // the caller's watcher hears of it even when a fresh one took its place
  (early ?? prepared).onCommit?.();
  if (!watcher) {
    letGo();
    recordJob(undefined);
    throw new DxError(`the watcher (pid ${pid}) exited before it could be identified`, {
      exitCode: ExitCode.general,
      reasonCode: 'launch_not_acknowledged',
      nextAction: 'inspect_the_watcher_log_then_run_dx_runner_prune',
    });
  }
  try {
    recordJob(watcher);
  } catch (err) {
    letGo();
    throw err;
  }
  child.stdin!.end(JSON.stringify(spec));
  try {
    return await readAck(child.stdio[3] as Readable, ACK_TIMEOUT_MS);
  } catch (err) {
    sendSignal(watcher, 'SIGTERM');
    throw new DxError(`launch not acknowledged: ${(err as Error).message}`, {
      exitCode: ExitCode.general,
      reasonCode: 'launch_not_acknowledged',
      nextAction: 'inspect_the_watcher_log_then_run_dx_runner_prune',
    });
  } finally {
    letGo();
  }
}

/** `dx-runner start`: validate everything, then launch (or, with dryRun, stop after validating). */
export async function startJob(options: StartJobOptions): Promise<StartResult> {
  try {
    return await validateAndLaunch(options);
  } catch (err) {
    throw asDiskFull(err);
  } finally {
    options.watcher?.cancel();
  }
}

async function validateAndLaunch(options: StartJobOptions): Promise<StartResult> {
  const env = options.env ?? process.env;
  validateEnv(env);
  const cwd = options.cwd ?? process.cwd();
  const beads = assertBeadsId(options.beads);
  if (options.owner !== undefined) assertOwner(options.owner);
  const providerId = options.provider ?? options.profile?.provider;
  if (!providerId) fail('--provider or --profile is required', ExitCode.usage, 'provider_required', 'pass_--provider');
  const provider = options.registry.get(providerId);
  if (options.scenario !== undefined && !provider.simulator)
    fail(
      `--scenario is for the simulator (provider sim); ${provider.id} runs a real agent`,
      ExitCode.usage,
      'scenario_needs_simulator',
      'pass_--provider_sim_or_drop_--scenario',
    );
  // a simulated agent plays its scenario: the prompt is optional
  if (!options.promptFile && !options.dryRun && !provider.simulator)
    fail(
      '--prompt-file is required (except with --dry-run)',
      ExitCode.usage,
      'prompt_file_required',
      'pass_--prompt-file',
    );
  const prompt = options.promptFile
    ? readPromptFile(options.promptFile)
    : provider.simulator && !options.dryRun
      ? `Simulated task for ${beads}.\n`
      : '';
  const located = locateWorktree(options.worktree, { cwd, env });
  const { worktree } = checkWorktree(located, options.policy);
  const limits = { ...limitsFromEnv(env), ...profileLimits(options.profile) };
  maxParallelFor(options.policy, provider.id, env);
  const choice = resolveModel(provider.id, options.policy.providers[provider.id], {
    requested: options.model ?? options.profile?.model,
    requestedFrom: options.model ? 'flag' : 'profile',
    env,
  });
  let model = choice.model || undefined;
  if (options.requiredBaseline) {
    const gate = await baselineGate({ worktree, requiredBaseline: options.requiredBaseline });
    if (!gate.passed) {
      fail(`baseline gate failed: ${gate.details}`, ExitCode.general, gate.reason_code, gate.next_action);
    }
  }
  const allowedPathsFile = options.allowedPathsFile ? path.resolve(cwd, options.allowedPathsFile) : undefined;
  if (allowedPathsFile) {
    try {
      // recorded by its path for the job's scope-gate to read again: a pipe would be empty by then
      readAllowedPaths(allowedPathsFile, { pipes: false });
    } catch (err) {
      fail(
        `allowed paths file not readable: ${allowedPathsFile} (${inputFileProblem(err)})`,
        ExitCode.general,
        'allowed_paths_file_unreadable',
        'fix_the_allowed_paths_file',
      );
    }
  }
  if (options.preflight) {
    const result = await preflightProvider(provider.id, {
      registry: options.registry,
      policy: options.policy,
      env,
      model,
      worktree,
    });
    if (!result.ok) {
      throw new DxError(`preflight failed for provider ${provider.id}: ${result.error ?? 'unavailable'}`, {
        exitCode: result.exit_code,
        reasonCode: result.reason_code ?? 'preflight_failed',
        nextAction: result.next_action ?? undefined,
      });
    }
    model = result.model ?? model;
  }
  if (options.dryRun) {
    // a real launch asks git while it takes its locks (see launch)
    await assertGitCanUseWorktree(worktree, env);
    const root = openStateRoot({ env, create: false });
    if (root) {
      await assertRecordsOutsideWorktree(root, worktree);
      assertWorktreeFree(root, beads, worktree, options.expectNoChanges ?? false);
    }
    // a placeholder root when there is none yet: absolute, as the watcher will check the paths
    const paths = jobPaths(root ?? '/<state-root>', provider.id, beads);
    const spec = await buildCheckedLaunch(
      provider,
      {
        beads,
        prompt: prompt || '<prompt>',
        promptFile: paths.prompt,
        worktree,
        model,
        jobHome: paths.home,
        jobTmp: paths.tmp,
        env,
        policy: options.policy.providers[provider.id],
        scenario: options.scenario,
      },
      prompt,
    );
    return {
      beads,
      provider: provider.id,
      dry_run: true,
      state: 'validated',
      run_instance: null,
      pid: null,
      watcher_pid: null,
      log: null,
      worktree,
      command: commandPreview(spec),
      selected_model: spec.selectedModel ?? model ?? null,
      fallback_reason: spec.fallbackReason ?? 'none',
      provider_switch_from: root ? providersForBeads(root, beads).filter((p) => p !== provider.id) : [],
      retries: 0,
    };
  }
  const root = openStateRoot({ env, create: true })!;
  return launch({
    root,
    beads,
    provider,
    prompt,
    promptFile:
      options.promptFile === '-' ? 'stdin' : options.promptFile ? path.resolve(cwd, options.promptFile) : undefined,
    worktree,
    model,
    profile: options.profile?.name,
    policy: options.policy,
    env,
    cwd,
    limits,
    retries: 0,
    version: options.version,
    watcher: options.watcher,
    requiredBaseline: options.requiredBaseline,
    allowedPathsFile,
    mutationBudget: options.mutationBudget,
    owner: options.owner,
    expectNoChanges: options.expectNoChanges,
    scenario: options.scenario,
  });
}

export interface RelaunchOptions {
  root: string;
  provider: Provider;
  policy: Policy;
  env?: NodeJS.ProcessEnv;
  version?: string;
  lockHeld?: boolean;
  /** A watcher spawned ahead (see prespawn.ts); the caller cancels it if the launch is refused. */
  watcher?: PrespawnedWatcher;
}

/** What a relaunch reads and checks before it launches: its environment, prompt, worktree and model. */
export interface RelaunchInputs {
  env: NodeJS.ProcessEnv;
  prompt: string;
  worktree: string;
}

/**
 * Refuse a relaunch the environment, the policy, the disk or the plugin no longer allows (the
 * policy may have changed since the first start: the worktree and the model must still be
 * allowed). A restart calls this before it stops the running instance, so a refused restart costs
 * nothing.
 */
export async function checkRelaunch(
  job: { paths: JobPaths; meta: MetaRecord },
  options: RelaunchOptions,
): Promise<RelaunchInputs> {
  const { paths, meta } = job;
  const env = options.env ?? process.env;
  validateEnv(env);
  const prompt = readPromptFile(meta.prompt_copy);
  const { worktree } = checkWorktree(meta.worktree, options.policy);
  if (meta.model)
    resolveModel(options.provider.id, options.policy.providers[options.provider.id], { requested: meta.model, env });
  // checked again under the locks at launch; here so that a disk already short costs no stop
  assertFreeSpace(options.root, options.policy);
  // and the plugin's launch, built again at launch (with this environment: a plugin's bug may
  // depend on it)
  await buildCheckedLaunch(options.provider, {
    beads: meta.beads,
    prompt,
    promptFile: paths.prompt,
    worktree,
    model: meta.model,
    jobHome: paths.home,
    jobTmp: paths.tmp,
    env,
    policy: options.policy.providers[options.provider.id],
    scenario: meta.scenario,
  });
  return { env, prompt, worktree };
}

/**
 * Launch the next instance of an ended job with the same prompt, worktree and model; retries + 1.
 * `inputs`: what checkRelaunch read and allowed.
 */
export async function relaunch(
  job: { paths: JobPaths; meta: MetaRecord },
  options: RelaunchOptions,
  inputs: RelaunchInputs,
): Promise<StartResult> {
  const { meta } = job;
  const { env, prompt, worktree } = inputs;
  return launch({
    root: options.root,
    beads: meta.beads,
    provider: options.provider,
    prompt,
    promptFile: meta.prompt_file,
    worktree,
    model: meta.model,
    profile: meta.profile,
    policy: options.policy,
    env,
    cwd: meta.cwd,
    limits: {
      ...limitsFromEnv(env),
      maxRuntimeMinutes: meta.max_runtime_minutes,
      noMutationTimeoutMinutes: meta.no_mutation_timeout_minutes,
      stallMinutes: meta.stall_minutes,
      ...(meta.max_repeated_tool_calls === undefined ? {} : { maxRepeatedToolCalls: meta.max_repeated_tool_calls }),
      startupGraceSec: meta.startup_grace_sec,
    },
    retries: meta.retries + 1,
    firstStartedAt: meta.first_started_at ?? meta.started_at,
    requiredBaseline: meta.required_baseline,
    allowedPathsFile: meta.allowed_paths_file,
    mutationBudget: meta.mutation_budget,
    owner: meta.owner,
    expectNoChanges: meta.expect_no_changes,
    scenario: meta.scenario,
    version: options.version,
    lockHeld: options.lockHeld,
    watcher: options.watcher,
  }).catch((err: unknown) => {
    throw asDiskFull(err);
  });
}
