import {
  assertFreeSpace,
  roomProblem,
  expandHome,
  DxError,
  ExitCode,
  isDxError,
  isWithin,
  sectionOf,
  sendSignal,
  type BdClient,
  type DxRunnerClient,
  type Policy,
} from '@dx/core';
import os from 'node:os';
import fs from 'node:fs';
import path from 'node:path';
import { BATCH_SECTION } from '../policy.js';
import { acquireItemLease, removeAbandonedLeaseWrites } from '../leases/item-leases.js';
import { readHolder, WaveLock } from '../leases/wave-lock.js';
import type { ProgressView } from '../reports/view.js';
import { wavePaths, type WavePaths } from '../waves/paths.js';
import {
  isTerminalItem,
  loadWave,
  newItem,
  tokensSpent,
  waveExists,
  writeWave,
  type PreflightRecord,
  type WaveConfig,
  type WaveState,
} from '../waves/state.js';
import { setWaveStatus } from '../waves/status.js';
import { WaveHosts, isHostFailure } from '../fleet/hosts.js';
import type { HostRecord } from '../waves/state.js';
import { Orchestrator } from './orchestrator.js';
import { countLiveProcesses } from './saturation.js';

export interface WaveDeps {
  root: string;
  client: DxRunnerClient;
  policy: Policy;
  view: ProgressView;
  bd?: BdClient;
  /** Called with the orchestrator once it runs, so SIGINT/SIGTERM can pause it. */
  onRunning?: (o: Orchestrator) => void;
}

export interface StartWaveOptions {
  items: string[];
  waveId?: string;
  cwd?: string;
  config?: Partial<WaveConfig>;
}

export function defaultWaveId(now = new Date()): string {
  return `wave-${now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}`;
}

function refuseCanonicalCwd(cwd: string, policy: Policy): void {
  let real: string;
  try {
    real = fs.realpathSync(cwd);
  } catch {
    real = cwd;
  }
  for (const repo of policy.worktrees.forbiddenRepos) {
    if (isWithin(real, path.resolve(expandHome(repo)))) {
      throw new DxError(
        `dx-batch refuses to run from the canonical repo ${repo} (cwd ${cwd}); cd /tmp/agents and run it from there`,
        {
          exitCode: ExitCode.permissionDenied,
          reasonCode: 'canonical_cwd_forbidden',
          nextAction: 'cd_out_of_the_canonical_repo',
        },
      );
    }
  }
}

/**
 * Each host of the wave, side by side: its dx-runner's contract version, then each provider the
 * wave may use there (a fleet entry's `providers` narrows them). A host that fails is skipped with
 * its reason; the others are used.
 */
async function preflightHosts(
  hosts: WaveHosts,
  config: WaveConfig,
  policy: Policy,
): Promise<{ preflight: PreflightRecord[]; hosts: HostRecord[] }> {
  const providers = [...new Set([...config.retry_chain, ...config.review_chain])];
  const results = await Promise.all(
    config.hosts.map(async (host) => {
      const checkedAt = new Date().toISOString();
      const record: HostRecord = {
        host,
        status: 'up',
        reason_code: null,
        error: null,
        max_parallel: hosts.capOf(host, config.max_parallel),
        providers: [],
        down_since: null,
        checked_at: checkedAt,
      };
      const records: PreflightRecord[] = [];
      const allowed = host === 'local' ? undefined : policy.fleet.hosts[host]?.providers;
      try {
        await hosts.verify(host);
        for (const provider of providers) {
          if (allowed && !allowed.includes(provider)) {
            // on record as not passing there: a provider no host of the wave may run leaves the
            // chains (it was kept, unasked, and its items waited for a host that never came)
            records.push({
              host,
              provider,
              available: false,
              model: null,
              reason_code: 'provider_not_allowed_on_host',
              error: `not in fleet.hosts.${host}.providers (${allowed.join(', ') || 'none'})`,
              checked_at: new Date().toISOString(),
            });
            continue;
          }
          // the policy file is this machine's: a host checks against its own
          const r = await hosts
            .client(host)
            .preflight(provider, host === 'local' ? (config.policy_file ?? undefined) : undefined);
          records.push({
            host,
            provider,
            available: r.ok,
            model: r.model,
            reason_code: r.reason_code,
            error: r.error,
            checked_at: new Date().toISOString(),
          });
          if (r.ok) record.providers.push(provider);
        }
      } catch (err) {
        if (!isHostFailure(err)) throw err;
        const e = err as { reasonCode: string; message: string };
        Object.assign(record, { status: 'skipped', reason_code: e.reasonCode, error: e.message });
      }
      return { record, records };
    }),
  );
  return { preflight: results.flatMap((r) => r.records), hosts: results.map((r) => r.record) };
}

/** The hosts a wave names must be `local` or in the policy's fleet.hosts. */
function assertKnownHosts(hosts: string[], policy: Policy): void {
  const unknown = hosts.filter((h) => h !== 'local' && !policy.fleet.hosts[h]);
  if (unknown.length > 0)
    throw new DxError(
      `unknown host${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}: the policy's fleet.hosts has ${['local', ...Object.keys(policy.fleet.hosts)].join(', ')}`,
      { exitCode: ExitCode.general, reasonCode: 'unknown_host', nextAction: 'add_the_host_to_the_policy_fleet_hosts' },
    );
}

/** Both state roots need room before anything is dispatched: dx-runner's (asked, never assumed) and ours. */
async function freeSpaceProblem(deps: WaveDeps): Promise<string | undefined> {
  const disk = await deps.client.disk().catch(() => undefined);
  const short = disk && roomProblem(disk, deps.policy);
  if (short) return short;
  try {
    assertFreeSpace(deps.root, deps.policy, 'the dx-batch state root');
  } catch (err) {
    if (isDxError(err)) return err.message;
    throw err;
  }
  return undefined;
}

function leaseItems(paths: WavePaths, state: WaveState, lock: WaveLock): void {
  for (const item of state.items)
    if (!isTerminalItem(item)) acquireItemLease(paths, item.beads_id, lock.token, state.config.lease_ttl_minutes);
}

/** The one orchestrator of a wave this process holds the lock of (run or cancel). */
function orchestratorFor(paths: WavePaths, state: WaveState, lock: WaveLock, deps: WaveDeps): Orchestrator {
  const { client, policy, view, bd } = deps;
  return new Orchestrator({ paths, client, hosts: new WaveHosts(client, policy), policy, lock, view, bd }, state);
}

async function runLoop(paths: WavePaths, state: WaveState, lock: WaveLock, deps: WaveDeps): Promise<WaveState> {
  const orchestrator = orchestratorFor(paths, state, lock, deps);
  deps.onRunning?.(orchestrator);
  try {
    const wave = await orchestrator.run();
    await orchestrator.releaseJobs();
    return wave;
  } finally {
    lock.release();
    deps.view.close();
  }
}

/**
 * `dx-batch start`: a new wave only (an existing wave id is refused: use resume). Gates before any
 * dispatch: canonical cwd, item leases, provider preflight through dx-runner, `dx-runner prune`,
 * the exec saturation cap.
 */
export async function startWave(options: StartWaveOptions, deps: WaveDeps): Promise<WaveState> {
  const waveId = options.waveId ?? defaultWaveId();
  const paths = wavePaths(deps.root, waveId);
  if (waveExists(paths)) {
    const existing = loadWave(paths);
    throw new DxError(
      `wave ${waveId} already exists (status ${existing.status}); use dx-batch resume --wave-id ${waveId}`,
      {
        exitCode: ExitCode.general,
        reasonCode: 'wave_exists',
        nextAction: 'run_dx_batch_resume_or_pick_a_new_wave_id',
      },
    );
  }
  refuseCanonicalCwd(options.cwd ?? process.cwd(), deps.policy);
  const b = sectionOf(deps.policy, BATCH_SECTION);
  const config: WaveConfig = {
    max_parallel: b.maxParallel,
    max_revisions: b.maxRevisions,
    retry_chain: b.retryChain,
    review_chain: b.reviewChain,
    review: b.review,
    exec_process_cap: b.execProcessCap,
    poll_interval_sec: b.pollIntervalSec,
    lease_ttl_minutes: b.leaseTtlMinutes,
    worktree_base: deps.policy.worktrees.allowedPrefixes[0] ?? '/tmp/agents',
    prompt_file: null,
    policy_file: null,
    hosts: b.hosts,
    max_tokens: b.maxTokens,
    ...options.config,
  };
  assertKnownHosts(config.hosts, deps.policy);
  const lock = WaveLock.acquire(paths, { ttlMinutes: config.lease_ttl_minutes });
  try {
    // a concurrent start may have created and finished the wave between our check and the lock
    if (waveExists(paths)) {
      throw new DxError(
        `wave ${waveId} already exists (status ${loadWave(paths).status}); use dx-batch resume --wave-id ${waveId}`,
        {
          exitCode: ExitCode.general,
          reasonCode: 'wave_exists',
          nextAction: 'run_dx_batch_resume_or_pick_a_new_wave_id',
        },
      );
    }
    const now = new Date().toISOString();
    const state: WaveState = {
      schema_version: 1,
      wave_id: waveId,
      status: 'pending',
      reason_code: 'wave_pending',
      error: null,
      created_at: now,
      updated_at: now,
      started_at: null,
      completed_at: null,
      config,
      preflight: [],
      hosts: [],
      lost_jobs: [],
      token: lock.token,
      items: options.items.map(newItem),
      stats: {},
    };
    leaseItems(paths, state, lock);
    lock.fenced(() => writeWave(paths, state));
    const fail = (reason: string, error: string) => {
      lock.assertHeld();
      setWaveStatus(state, 'failed', reason, error);
      lock.fenced(() => writeWave(paths, state));
      deps.view.event(state, `wave ${waveId} failed (${reason}): ${error}`);
      lock.release();
      return state;
    };
    const checked = await preflightHosts(new WaveHosts(deps.client, deps.policy), config, deps.policy);
    state.preflight = checked.preflight;
    state.hosts = checked.hosts;
    lock.fenced(() => writeWave(paths, state));
    const up = state.hosts.filter((h) => h.status === 'up');
    if (up.length === 0)
      return fail(
        'no_host_available',
        `no host of the wave answered: ${state.hosts.map((h) => `${h.host}: ${h.reason_code}`).join('; ')}`,
      );
    for (const h of state.hosts.filter((r) => r.status === 'skipped'))
      deps.view.event(state, `host ${h.host} skipped (${h.reason_code}): ${h.error}`);
    const usable = config.retry_chain.filter((p) => up.some((h) => h.providers.includes(p)));
    if (usable.length === 0) {
      return fail(
        'no_provider_available',
        `no provider of the retry chain passed preflight: ${state.preflight.map((r) => `${r.provider}: ${r.reason_code}`).join('; ')}`,
      );
    }
    await deps.client.prune().catch(() => undefined);
    const space = await freeSpaceProblem(deps);
    if (space) return fail('disk_low', space);
    const live = await countLiveProcesses(deps.client, paths, config.lease_ttl_minutes);
    if (live > config.exec_process_cap) {
      return fail(
        'exec_saturation',
        `exec_saturation: live_processes=${live} cap=${config.exec_process_cap}; run dx-runner prune and dx-batch doctor before retrying`,
      );
    }
    lock.assertHeld();
    setWaveStatus(state, 'running', 'wave_running');
    lock.fenced(() => writeWave(paths, state));
    deps.view.event(
      state,
      `wave ${waveId} started with ${state.items.length} items (max parallel ${config.max_parallel}; chain ${usable.join(' → ')} → blocked)`,
    );
    return await runLoop(paths, state, lock, deps);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** What `resume` may change: `maxTokens`, a new token budget (a wave paused on its budget goes on with more). */
export interface ResumeOptions {
  maxTokens?: number;
}

/**
 * `dx-batch resume`: take the wave over (refused while its orchestrator is alive) with a higher
 * fencing token, then continue: jobs that ran while nobody watched are adopted, attempts whose job
 * was never started are started, nothing that finished is run again.
 */
export async function resumeWave(waveId: string, deps: WaveDeps, options: ResumeOptions = {}): Promise<WaveState> {
  const paths = wavePaths(deps.root, waveId);
  const state = loadWave(paths);
  if (state.status === 'completed' || state.status === 'cancelled') {
    throw new DxError(`wave ${waveId} is ${state.status}; nothing to resume`, {
      exitCode: ExitCode.general,
      reasonCode: 'wave_not_resumable',
      nextAction: 'review_the_report',
    });
  }
  const lock = WaveLock.acquire(paths, { ttlMinutes: state.config.lease_ttl_minutes, minToken: state.token });
  try {
    leaseItems(paths, state, lock);
    removeAbandonedLeaseWrites(paths, lock.token);
    lock.assertHeld();
    const budget = state.config.max_tokens;
    if (options.maxTokens !== undefined) state.config.max_tokens = options.maxTokens;
    setWaveStatus(state, 'running', 'wave_running');
    state.token = lock.token;
    lock.fenced(() => writeWave(paths, state));
    deps.view.event(state, `wave ${waveId} resumed (lease token ${lock.token})`);
    if (options.maxTokens !== undefined)
      deps.view.event(
        state,
        `token budget ${options.maxTokens} (was ${budget ?? 'none'}; ${tokensSpent(state)} spent so far)`,
      );
    return await runLoop(paths, state, lock, deps);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** `dx-batch cancel`: fences and signals a running orchestrator, stops every job of the wave. */
export async function cancelWave(
  waveId: string,
  deps: Omit<WaveDeps, 'onRunning'>,
): Promise<{ wave: WaveState; cancelled: string[]; stopped: string[] }> {
  const paths = wavePaths(deps.root, waveId);
  const state = loadWave(paths);
  if (state.status === 'completed' || state.status === 'cancelled') {
    throw new DxError(`wave ${waveId} is already ${state.status}`, {
      exitCode: ExitCode.general,
      reasonCode: 'wave_not_cancellable',
      nextAction: 'nothing_to_cancel',
    });
  }
  const previous = readHolder(paths.lock);
  const lock = WaveLock.acquire(paths, {
    ttlMinutes: state.config.lease_ttl_minutes,
    minToken: state.token,
    force: true,
  });
  try {
    removeAbandonedLeaseWrites(paths, lock.token);
    if (previous && previous.host === os.hostname() && previous.pid !== process.pid) {
      sendSignal({ pid: previous.pid, startTicks: previous.start_ticks, bootId: previous.boot_id }, 'SIGTERM');
    }
    const orchestrator = orchestratorFor(paths, state, lock, deps);
    const result = await orchestrator.cancel();
    await orchestrator.releaseJobs();
    return { wave: orchestrator.wave, ...result };
  } finally {
    lock.release();
  }
}
