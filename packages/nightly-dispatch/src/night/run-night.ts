import os from 'node:os';
import path from 'node:path';
import {
  acquireLock,
  assertFreeSpace,
  roomProblem,
  DxError,
  isDxError,
  isValidBeadsId,
  itemWorktreeCandidates,
  onceEvery,
  readJsonFileIfExists,
  DxRunnerClient,
  ExitCode,
  LockTimeoutError,
  ProcessTransport,
  RETENTION_PERIOD_MS,
  retentionOptions,
  writeFileAtomic,
  writeSecurePromptFile,
  type BdClient,
  type BeadsIssue,
  type Policy,
} from '@dx/core';
import { SlackAlerter } from '../alerts/slack.js';
import { nightConfig, openNightlyRoot, recordMigrationStart, type NightConfig } from '../config/config.js';
import { writeMorningReport } from '../reports/morning.js';
import { pruneReports } from '../reports/retention.js';
import type { Simulation } from './simulate.js';
import type { NightItem, NightReport } from '../schemas.js';
import { dispatchWithAck } from './dispatch.js';
import { clearDispatching, recordDispatching, settleInterruptedDispatches, type Dispatching } from './interrupted.js';
import { fleetChain, pickNightHost, preflightHosts, type NightHost } from './hosts.js';
import { nightlyPrompt } from './prompt.js';
import { recordJobSpend, spentLastDay } from './spend.js';

export interface NightDeps {
  /** argv prefix that runs dx-runner. */
  dxRunner: string[];
  policy: Policy;
  policyFile?: string;
  bd: BdClient | undefined;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** A rehearsal: dx-runner's providers play these scenarios (deps.env carries DX_RUNNER_SIMULATE). */
  simulation?: Simulation;
  /**
   * Aborted (its reason the signal's name) when the run is asked to end: cron's `timeout`, a
   * Ctrl-C. The step in flight finishes, nothing more is claimed, and the morning report is written.
   */
  stop?: AbortSignal;
}

/** A job that is still at work. */
const LIVE = new Set(['launching', 'healthy']);

/** Jobs this tool dispatched (`jobs.json`): those still running count against max_parallel across runs. */
function jobsFile(config: NightConfig): string {
  return path.join(config.root, 'jobs.json');
}

/** A job this tool dispatched: a beads id (this machine's) or the id and its fleet host. */
type RememberedJob = string | { beads: string; host: string };
const jobHost = (j: RememberedJob) => (typeof j === 'string' ? 'local' : j.host);
const jobBeads = (j: RememberedJob) => (typeof j === 'string' ? j : j.beads);

/**
 * The nightly jobs still running, each asked of its own host (a host that does not answer counts
 * them as live). A stalled one (no progress, or an agent repeating its tool calls and spending
 * tokens), or one still running that reads no_op, is stopped: the watchdog leaves a job with an
 * owner to its owner, and this tool is it.
 */
async function liveNightlyJobs(
  config: NightConfig,
  clientFor: (host: string) => DxRunnerClient | undefined,
  report: Pick<NightReport, 'stopped' | 'finished'>,
  log: (line: string) => void,
): Promise<RememberedJob[]> {
  const live: RememberedJob[] = [];
  for (const job of readJsonFileIfExists<RememberedJob[]>(jobsFile(config)) ?? []) {
    const client = clientFor(jobHost(job));
    if (!client) {
      live.push(job);
      continue;
    }
    const answer = await client.check(jobBeads(job)).then(
      (r) => ({ view: r.view }),
      (err: Error) => ({ err }),
    );
    if ('err' in answer) {
      // gone from dx-runner (pruned): nothing to count. Any other failure says nothing of the job:
      // it is kept, and counts, until an answer says it ended (forgotten, it would run uncounted
      // and, stalled, unstopped)
      if ((answer.err as { reasonCode?: string }).reasonCode !== 'job_not_found') {
        log(
          `${jobBeads(job)} (${jobHost(job)}): could not be checked (${answer.err.message}); still counted as running`,
        );
        live.push(job);
      }
      continue;
    }
    const view = answer.view;
    // alive and getting nowhere: stalled, or a no-op still running (no event, no change for too long)
    const stuck = view.outcome_state === null && (view.state === 'stalled' || view.state === 'no_op');
    // an unreadable record proves no end: dx-runner's stop ends what its heartbeat names still
    // running, and refuses when nothing runs (then it is reported as ended, below)
    const unreadable = view.reason_code === 'state_file_corrupt';
    if (stuck || unreadable) {
      const detail = view.repeating ? `repeating ${view.repeating.call}` : null;
      try {
        await client.stop(jobBeads(job));
        await recordJobSpend(
          config.root,
          client,
          { beads: jobBeads(job), host: jobHost(job), run_instance: view.run_instance },
          log,
        );
        report.stopped.push({ beads_id: jobBeads(job), host: jobHost(job), reason_code: view.reason_code, detail });
        log(`${jobBeads(job)} (${jobHost(job)}): ${view.state} (${view.reason_code}); stopped, its issue left claimed`);
        continue;
      } catch (err) {
        const nothingRuns = unreadable && (err as { reasonCode?: string }).reasonCode === 'state_file_corrupt';
        if (!nothingRuns) {
          log(`${jobBeads(job)} (${jobHost(job)}): ${view.state}, and could not be stopped: ${(err as Error).message}`);
          // still running: it still holds its slot
          live.push(job);
          continue;
        }
      }
    }
    if (LIVE.has(view.state)) {
      live.push(job);
      continue;
    }
    // ended since the last run looked: said once in the morning report, then forgotten
    const tokens = await recordJobSpend(
      config.root,
      client,
      { beads: jobBeads(job), host: jobHost(job), run_instance: view.run_instance },
      log,
    );
    report.finished.push({
      beads_id: jobBeads(job),
      host: jobHost(job),
      state: view.state,
      reason_code: view.reason_code,
      exit_code: view.exit_code,
      completed_at: view.completed_at,
      next_action_text: view.next_action_text,
      tokens,
    });
    log(`${jobBeads(job)} (${jobHost(job)}): ended ${view.state} (${view.reason_code}), ${tokens} tokens`);
  }
  writeFileAtomic(jobsFile(config), `${JSON.stringify(live)}\n`);
  return live;
}

function rememberJob(config: NightConfig, job: RememberedJob): void {
  const jobs = readJsonFileIfExists<RememberedJob[]>(jobsFile(config)) ?? [];
  const key = (j: RememberedJob) => `${jobHost(j)}/${jobBeads(j)}`;
  if (!jobs.some((j) => key(j) === key(job))) jobs.push(job);
  writeFileAtomic(jobsFile(config), `${JSON.stringify(jobs)}\n`);
}

async function freeSpaceProblem(
  config: NightConfig,
  policy: Policy,
  client: DxRunnerClient,
): Promise<string | undefined> {
  const disk = await client.disk().catch(() => undefined);
  const short = disk && roomProblem(disk, policy);
  if (short) return `disk_low: ${short}`;
  try {
    assertFreeSpace(config.root, policy, 'the nightly-dispatch state root');
  } catch (err) {
    if (isDxError(err)) return `disk_low: ${err.message}`;
    throw err;
  }
  return undefined;
}

interface NightWork {
  issues: BeadsIssue[];
  duplicates: Array<{ issue: BeadsIssue; of: string }>;
  /** Open bugs of the critical priorities among the work (the legacy overload count). */
  critical: number;
}

const titleKey = (title: string | undefined) => (title ?? '').toLowerCase().replace(/\s+/g, ' ').trim();

async function gatherWork(bd: BdClient, config: NightConfig): Promise<NightWork> {
  const isCritical = (i: BeadsIssue) =>
    config.criticalPriorities.includes(Number(i.priority)) && (i.issue_type === undefined || i.issue_type === 'bug');
  const all =
    config.workQuery === 'critical_bugs'
      ? (await bd.list({ status: 'open', type: 'bug' }))
          .filter(isCritical)
          .sort((a, b) => Number(a.priority) - Number(b.priority))
      : await bd.ready();
  const issues: BeadsIssue[] = [];
  const duplicates: NightWork['duplicates'] = [];
  const seen = new Map<string, string>();
  for (const issue of all) {
    const key = titleKey(issue.title);
    const first = config.dedupeByTitle && key ? seen.get(key) : undefined;
    if (first) duplicates.push({ issue, of: first });
    else {
      seen.set(key, issue.id);
      issues.push(issue);
    }
  }
  return { issues, duplicates, critical: issues.filter(isCritical).length };
}

/** The preflight chain of the night: each provider, or each of its models in turn (nightly.provider_models). */
export function nightChain(config: Pick<NightConfig, 'providerChain' | 'providerModels'>): string[] {
  return config.providerChain.flatMap((p) =>
    config.providerModels[p]?.length ? config.providerModels[p].map((m) => `${p}:${m}`) : [p],
  );
}

function runId(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** The signal a stop was asked with (the abort's reason), once it was. */
function stopSignalName(stop: AbortSignal | undefined): string | undefined {
  return stop?.aborted ? String(stop.reason) : undefined;
}

/**
 * One night: ready work from bd, provider chosen by the shared preflight chain (every
 * result kept; a fallback alerts with the primary failure), each item claimed atomically and
 * dispatched through dx-runner with a bounded launch acknowledgement, within the migration-safe
 * parallelism. Never two runs at once; every run leaves a morning report.
 */
export async function runNight(options: { dryRun: boolean; maxItems?: number }, deps: NightDeps): Promise<NightReport> {
  let lock;
  try {
    lock = await acquireLock(openNightlyRoot(deps.env), 'nightly-run', 0);
  } catch (err) {
    if (!(err instanceof LockTimeoutError)) throw err;
    throw new DxError(
      `another nightly-dispatch run is in progress (pid ${err.holder ?? '?'}); this one exits without doing anything`,
      {
        exitCode: ExitCode.general,
        reasonCode: 'nightly_run_in_progress',
        nextAction: 'wait_for_the_running_night_to_finish',
      },
    );
  }
  try {
    const config = nightConfig(deps.policy, deps.env, { maxItems: options.maxItems });
    return await night(options, deps, config);
  } finally {
    lock.release();
  }
}

async function night(options: { dryRun: boolean }, deps: NightDeps, config: NightConfig): Promise<NightReport> {
  const startedAt = new Date();
  const id = runId(startedAt);
  const client = new DxRunnerClient({ command: deps.dxRunner, env: deps.env });
  const alerter = new SlackAlerter(
    config.webhook,
    config.root,
    config.alertRateLimitMinutes,
    deps.log,
    options.dryRun,
    deps.simulation !== undefined,
  );
  const items: NightItem[] = [];
  const report: NightReport = {
    run_id: id,
    started_at: startedAt.toISOString(),
    completed_at: '',
    dry_run: options.dryRun,
    simulation: deps.simulation ?? null,
    status: 'ok',
    exit_code: 0,
    error: null,
    hosts: [],
    migration: { started_at: config.migrationStart, max_parallel: config.currentMaxParallel, live_jobs: 0 },
    work: { query: config.workQuery, critical: 0, overload: false },
    provider: { selected: null, model: null, fallback: false, primary_failure: null, preflight: [], warnings: [] },
    counts: { ready: 0, claimed: 0, dispatched: 0, skipped: 0, failed: 0 },
    interrupted: [],
    stopped: [],
    finished: [],
    tokens: { max_per_day: config.maxTokensPerDay, spent_last_24h: 0 },
    items,
    alerts: alerter.records,
    report_files: {
      markdown: path.join(config.root, 'reports', `${id}.md`),
      json: path.join(config.root, 'reports', `${id}.json`),
    },
  };
  const itemLines = () =>
    items
      .filter((i) => i.action === 'dispatched' || i.action === 'failed')
      .map(
        (i) =>
          `• ${i.beads_id}: ${i.action === 'dispatched' ? `✅ dispatched to ${i.provider}` : `❌ failed (${i.reason})`}`,
      );
  /** Ends the night; once a stop was asked for, every ending is `interrupted`, naming what it had come to. */
  const finish = async (
    status: NightReport['status'],
    exitCode: number,
    error: string | null = null,
  ): Promise<NightReport> => {
    const signal = stopSignalName(deps.stop);
    if (signal) {
      const unreached = items.filter((i) => i.reason?.startsWith('interrupted')).length;
      error = `interrupted by ${signal}${unreached ? `: ${unreached} item(s) left unclaimed` : ''}${error ? `; ${error}` : ''}`;
      status = 'interrupted';
      exitCode = 128 + (os.constants.signals[signal as NodeJS.Signals] ?? 15);
      await alerter.send('interrupted', `⚠️ nightly-dispatch interrupted (${signal})`, [error, ...itemLines()]);
    }
    report.status = status;
    report.exit_code = exitCode;
    report.error = error;
    report.completed_at = new Date().toISOString();
    for (const key of ['dispatched', 'skipped', 'failed'] as const)
      report.counts[key] = items.filter((i) => i.action === key).length;
    writeMorningReport(config.root, report);
    deps.log(`night ${id}: ${status}; report ${report.report_files.markdown}`);
    return report;
  };
  // between steps, a night asked to stop ends (finish names the signal and sets its exit code)
  const stopAsked = () => deps.stop?.aborted === true;
  /**
   * After a step whose children failed, or a start (one that printed its result, then ended by the
   * signal): whether the night was asked to stop, once a signal already on its way here has been handled. Cron's timeout signals the whole group, and a child it ended
   * (dx-runner's preflight, an ssh) can be seen to end before this process's own handler has run;
   * read at once, the night once went on to report a crash, or no provider, instead of its end.
   */
  const stopAskedOnceSettled = async (): Promise<boolean> => {
    for (let i = 0; i < 25 && !stopAsked(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    return stopAsked();
  };

  // 0. once a day: old morning reports and dx-runner's old jobs go (never live or held ones)
  if (!options.dryRun) {
    await onceEvery(config.root, '.retention-last-run', RETENTION_PERIOD_MS, async () => {
      // what retention cannot remove stays for the next day's pass: it never costs the night its work
      let reports;
      try {
        reports = pruneReports(config.root, retentionOptions(deps.policy, { days: deps.policy.retention.nightsDays }));
      } catch (err) {
        deps.log(`retention: morning reports not pruned: ${(err as Error).message}`);
      }
      const jobs = await client.prune({ retention: true }).catch((err: Error) => {
        deps.log(`retention: dx-runner prune failed: ${err.message}`);
        return null;
      });
      deps.log(
        `retention: ${reports?.removed.length ?? 0} morning report(s) and ${jobs?.retention?.removed.length ?? 0} finished job(s) removed`,
      );
      for (const r of reports?.not_removed ?? []) deps.log(`retention: report ${r.run_id} not removed: ${r.error}`);
      for (const j of jobs?.retention?.not_removed ?? [])
        deps.log(`retention: job ${j.beads} (${j.provider}) not removed: ${j.error}`);
    });
  }

  if (stopAsked()) return finish('interrupted', 0);

  // 1. which provider tonight (the shared preflight chain of dx-runner), on each host of a fleet
  const entries = nightChain(config);
  const fleet =
    config.hosts.length === 1 && config.hosts[0] === 'local'
      ? null
      : await preflightHosts(config.hosts, entries, {
          policy: deps.policy,
          policyFile: deps.policyFile,
          dxRunner: deps.dxRunner,
          env: deps.env,
        });
  if (fleet) {
    report.hosts = fleet.map((h) => h.record);
    for (const h of fleet.filter((x) => !x.record.reachable))
      deps.log(`host ${h.name} skipped (${h.record.reason_code}): ${h.record.error}`);
  }
  const clientFor = (host: string) => {
    if (!fleet) return host === 'local' ? client : undefined;
    const h = fleet.find((x) => x.name === host);
    return h?.transport ? new DxRunnerClient({ transport: h.transport, timeoutMs: 30_000 }) : undefined;
  };
  if (fleet?.some((h) => !h.record.reachable) ? await stopAskedOnceSettled() : stopAsked())
    return finish('interrupted', 0);
  // a run killed between a claim and its outcome left the item claimed by nobody: settle that first
  if (deps.bd && !options.dryRun)
    report.interrupted = await settleInterruptedDispatches(config.root, {
      bd: deps.bd,
      beadsDir: deps.env.BEADS_DIR ?? null,
      clientFor,
      remember: (beads, host) => rememberJob(config, fleet ? { beads, host } : beads),
      log: deps.log,
    });
  // the jobs of earlier runs: those still at work count against max_parallel; stalled ones are
  // stopped now, whatever else tonight holds (no provider, nothing new to do)
  const live = options.dryRun ? [] : await liveNightlyJobs(config, clientFor, report, deps.log);
  if (report.stopped.length > 0)
    await alerter.send(
      'stalled_jobs_stopped',
      '⚠️ nightly-dispatch: stalled jobs stopped',
      report.stopped.map((s) => `${s.beads_id} (${s.host}): ${s.reason_code}${s.detail ? ` — ${s.detail}` : ''}`),
    );
  // a job that ended badly between runs leaves its issue claimed with nobody at work on it: a
  // person must look, and learns of it here rather than from the report alone (one a person
  // stopped is theirs already)
  const failedEarlier = report.finished.filter((f) => f.state !== 'exited_ok' && f.reason_code !== 'manual_stop');
  if (failedEarlier.length > 0)
    await alerter.send(
      'earlier_jobs_failed',
      '❌ nightly-dispatch: jobs of earlier runs ended badly',
      failedEarlier.map(
        (f) =>
          `${f.beads_id} (${f.host}): ${f.state} (${f.reason_code ?? '-'}${f.exit_code === null ? '' : `, exit ${f.exit_code}`})`,
      ),
    );
  let chain;
  try {
    chain = fleet ? fleetChain(fleet, entries) : (await client.preflightChain(deps.policyFile, entries)).chain;
  } catch (err) {
    // dx-runner's preflight ended by the same signal (cron's timeout signals the whole group)
    if (await stopAskedOnceSettled()) return finish('interrupted', 0);
    throw err;
  }
  // a preflight ended by the signal says nothing of the providers: no "no provider" alert for it
  if (!chain.ok ? await stopAskedOnceSettled() : stopAsked()) return finish('interrupted', 0);
  report.provider = {
    selected: chain.selected_provider,
    model: chain.selected_model,
    fallback: false,
    primary_failure: chain.primary_failure,
    preflight: chain.results,
    warnings: chain.warnings,
  };
  for (const warning of chain.warnings) deps.log(`provider chain: ${warning}`);
  if (!chain.ok || !chain.selected_provider) {
    // with its model: a provider tried once per model (nightly.provider_models) reads as one name twice otherwise
    const failures = chain.results.map(
      (r) =>
        `${r.provider}${r.model ? ` (${r.model})` : ''}: ${r.reason_code ?? 'failed'} (${r.error ?? 'unknown error'})`,
    );
    deps.log(`no provider available: ${failures.join('; ')}`);
    if (config.alertOnNoProviders)
      await alerter.send('no_providers', '🚨 nightly-dispatch: no provider available', [
        'Failures:',
        ...failures.map((f) => `• ${f}`),
      ]);
    return finish('no_provider', ExitCode.preflightFailed, `no provider available: ${failures.join('; ')}`);
  }
  const primary = config.providerChain[0];
  if (chain.selected_provider !== primary) {
    report.provider.fallback = true;
    const pf = chain.primary_failure;
    const reason = pf ? `${pf.reason_code}: ${pf.error}` : 'unknown';
    deps.log(`provider fallback: ${primary} unavailable, using ${chain.selected_provider}. Primary failure: ${reason}`);
    // every provider the night skipped is named with its own failure, the primary first
    const skipped = chain.results.flatMap((r, n) =>
      r.ok
        ? []
        : [
            `${n === 0 ? 'Primary failure' : 'Then'} (${entries[n].replace(':', ' ')}): ${r.reason_code ?? 'failed'}: ${r.error ?? 'unavailable'}`,
          ],
    );
    if (config.alertOnFallback)
      await alerter.send(
        `fallback_${primary}_${chain.selected_provider}`,
        `⚠️ nightly-dispatch provider fallback: ${primary} → ${chain.selected_provider}`,
        skipped,
      );
  }

  if (stopAsked()) return finish('interrupted', 0);

  // 2. the night's work: bd ready or the legacy critical-bug query, each title once
  if (!deps.bd)
    return finish('beads_unavailable', ExitCode.beadsGateFailed, 'bd not found: set BD_BIN or put bd on PATH');
  let work: NightWork;
  try {
    work = await gatherWork(deps.bd, config);
  } catch (err) {
    return finish('beads_unavailable', ExitCode.beadsGateFailed, (err as Error).message);
  }
  const ready = work.issues;
  report.work = { query: config.workQuery, critical: work.critical, overload: false };
  report.counts.ready = ready.length;
  deps.log(
    `${ready.length} item(s) of ${config.workQuery}${work.duplicates.length ? ` (${work.duplicates.length} duplicate title(s) skipped)` : ''}; provider ${chain.selected_provider}; max parallel ${config.currentMaxParallel}`,
  );
  const item = (issue: BeadsIssue, fields: Partial<NightItem>): NightItem => {
    const record: NightItem = {
      beads_id: issue.id,
      title: issue.title ?? null,
      action: 'skipped',
      reason: null,
      claimed_by: null,
      provider: null,
      model: null,
      run_instance: null,
      host: null,
      ack_attempts: 0,
      claim_released: false,
      ...fields,
    };
    items.push(record);
    return record;
  };
  for (const d of work.duplicates) item(d.issue, { reason: `duplicate_title (same as ${d.of})` });
  if (ready.length === 0) return finish('nothing_to_do', 0);
  // the legacy overload protection: too many critical bugs at once means something bigger is wrong
  if (work.critical > config.maxCriticalBugs) {
    report.work.overload = true;
    deps.log(`overload: ${work.critical} critical bugs (threshold ${config.maxCriticalBugs}); dispatching 1 this run`);
    if (config.alertOnOverload)
      await alerter.send('overload', '⚠️ nightly-dispatch: overload protection triggered', [
        `Critical bugs: ${work.critical} (threshold: ${config.maxCriticalBugs})`,
        'Dispatching 1 item this run',
      ]);
  }

  // the daily token budget: what the jobs that ended in the last 24 h spent (those still running
  // are not known yet, and finish whatever happens here)
  report.tokens.spent_last_24h = spentLastDay(config.root);
  if (config.maxTokensPerDay !== null && report.tokens.spent_last_24h >= config.maxTokensPerDay) {
    const spent = `token_budget_spent (${report.tokens.spent_last_24h} of nightly.max_tokens_per_day ${config.maxTokensPerDay} in the last 24 h)`;
    for (const issue of ready) item(issue, { reason: `${spent}; left unclaimed` });
    deps.log(`${spent}: nothing claimed this run`);
    await alerter.send('token_budget_spent', '⚠️ nightly-dispatch: daily token budget spent, nothing claimed', [
      `${report.tokens.spent_last_24h} tokens spent in the last 24 h; the budget is ${config.maxTokensPerDay} (nightly.max_tokens_per_day)`,
    ]);
    return finish('token_budget_spent', 0);
  }

  // room to work: dx-runner's state (asked, never assumed) and ours
  const lowSpace = await freeSpaceProblem(config, deps.policy, client);
  if (lowSpace) {
    deps.log(lowSpace);
    await alerter.send('disk_low', '🚨 nightly-dispatch: disk space low, nothing dispatched', [lowSpace]);
    return finish('disk_low', ExitCode.general, lowSpace);
  }

  for (const job of live) {
    const h = fleet?.find((x) => x.name === jobHost(job));
    if (h) h.live += 1;
  }
  report.migration.live_jobs = live.length;
  const perRun = report.work.overload ? 1 : config.maxItems;
  const budget = Math.max(0, Math.min(perRun, config.currentMaxParallel - live.length));
  let used = 0;
  // set when this machine's dx-runner refused a start for lack of room: nothing more can start here tonight
  let outOfRoom: string | undefined;

  // 3. claim and dispatch, one item at a time, within the budget
  for (const issue of ready) {
    // ids become file names here and under dx-runner's state: anything path-like is never claimed
    if (!isValidBeadsId(issue.id)) {
      item(issue, { reason: 'invalid_beads_id (not a name dx-runner accepts; left unclaimed)' });
      continue;
    }
    if (outOfRoom) {
      item(issue, { reason: `${outOfRoom} (left unclaimed)` });
      continue;
    }
    if (stopAsked()) {
      item(issue, { reason: `interrupted (${stopSignalName(deps.stop)}; left unclaimed)` });
      continue;
    }
    if (used >= budget) {
      const why =
        used >= perRun
          ? `max_items_reached (${perRun} per run${report.work.overload ? ', overload' : ''})`
          : `max_parallel_reached (${config.currentMaxParallel}; ${live.length} nightly job(s) already running)`;
      item(issue, { reason: why });
      continue;
    }
    // on a fleet: the first chain entry that passes on a host with room, the least loaded such host
    const placed = fleet ? pickNightHost(fleet, entries) : undefined;
    if (fleet && !placed) {
      const state = (h: NightHost) =>
        !h.record.reachable ? 'down' : h.outOfRoom ? 'out of room' : `${h.live}/${h.record.max_parallel ?? '∞'}`;
      item(issue, { reason: `no_host_free (${fleet.map((h) => `${h.name} ${state(h)}`).join(', ')})` });
      continue;
    }
    const target = placed
      ? {
          host: placed.host.name,
          provider: placed.entry.split(':')[0],
          model: placed.host.chain?.results[placed.host.entries.indexOf(placed.entry)]?.model ?? null,
          transport: placed.host.transport!,
        }
      : { host: 'local', provider: chain.selected_provider, model: chain.selected_model, transport: null };
    if (options.dryRun) {
      item(issue, {
        action: 'would_dispatch',
        provider: target.provider,
        model: target.model,
        host: fleet ? target.host : null,
      });
      if (placed) placed.host.live += 1;
      used++;
      continue;
    }
    // recorded before bd is asked: a run killed while bd claims leaves a record the next run settles
    const dispatching: Dispatching = {
      run_id: id,
      beads_id: issue.id,
      host: target.host,
      claimed_at: new Date().toISOString(),
      claim_pending: true,
      assignee: null,
      beads_dir: deps.env.BEADS_DIR ?? null,
      prompt_file: null,
    };
    recordDispatching(config.root, dispatching);
    const claim = await deps.bd.claim(issue.id);
    if (claim.claimed === 'unknown') {
      // bd may have claimed before it was ended: the record stays, and the next run settles it by
      // what bd shows then (the run's claim is given back; someone else's is left alone)
      deps.log(`${issue.id}: skipped, ${claim.error}; the next run settles its claim`);
      item(issue, { reason: `claim_unknown: ${claim.error} (the next run settles it)` });
      // bd ended by the signal on its way here: the next item is left unclaimed
      await stopAskedOnceSettled();
      continue;
    }
    if (!claim.claimed) {
      clearDispatching(config.root, issue.id);
      deps.log(`${issue.id}: skipped, ${claim.error}`);
      item(issue, {
        reason: claim.claimedBy
          ? `already claimed by ${claim.claimedBy}${claim.claimedAt ? ` at ${claim.claimedAt}` : ''}`
          : `claim failed: ${claim.error}`,
        claimed_by: claim.claimedBy ?? null,
      });
      continue;
    }
    // recorded at once, so a run killed from here on leaves the claim to the next run to settle
    delete dispatching.claim_pending;
    recordDispatching(config.root, dispatching);
    report.counts.claimed++;
    used++;
    // the 48 h ramp starts with the first dispatch actually attempted (only the lock holder gets here)
    if (!config.migrationStart) {
      config.migrationStart = recordMigrationStart(config.root);
      report.migration.started_at = config.migrationStart;
    }
    const remote = target.host !== 'local';
    // another host cannot read our files: its prompt goes on the SSH channel's stdin
    const prompt = remote
      ? null
      : writeSecurePromptFile('ndisp_', issue.id, nightlyPrompt(issue), deps.env.TMPDIR || undefined);
    dispatching.prompt_file = prompt?.path ?? null;
    dispatching.assignee = (await deps.bd.show(issue.id).catch(() => undefined))?.assignee ?? null;
    recordDispatching(config.root, dispatching);
    let ack;
    try {
      ack = await dispatchWithAck(
        target.transport ?? new ProcessTransport(deps.dxRunner, deps.env),
        {
          beads: issue.id,
          provider: target.provider,
          model: target.model ?? undefined,
          ...(prompt ? { promptFile: prompt.path } : { prompt: nightlyPrompt(issue) }),
          worktree: itemWorktreeCandidates(deps.policy.worktrees.allowedPrefixes, issue.id)[0],
          // the policy file is this machine's; a host reads its own
          policy: remote ? undefined : deps.policyFile,
          owner: `nightly-dispatch:${id}`,
        },
        config.ackTimeoutSec,
        config.ackRetries,
        deps.log,
      );
    } finally {
      // dx-runner keeps its own copy once it acknowledged; ours goes either way
      prompt?.remove();
    }
    if (ack.ok) {
      // its start may have ended by the signal on its way here: the next item is left unclaimed
      await stopAskedOnceSettled();
      rememberJob(config, fleet ? { beads: issue.id, host: target.host } : issue.id);
      clearDispatching(config.root, issue.id);
      if (placed) placed.host.live += 1;
      deps.log(
        `${issue.id}: dispatched to ${target.provider}${fleet ? ` on ${target.host}` : ''}${ack.late ? ' (late acknowledgement)' : ''}`,
      );
      item(issue, {
        action: 'dispatched',
        provider: target.provider,
        model: target.model,
        host: fleet ? target.host : null,
        run_instance: ack.started?.run_instance ?? null,
        ack_attempts: ack.attempts,
      });
      continue;
    }
    // give the item back so tomorrow (or a person) can take it — unless its job may be running on a
    // host nobody can ask: then the claim stays, so nobody starts it a second time
    const released = ack.mayHaveLaunched ? false : await deps.bd.release(issue.id);
    // settled here, or by the next run: it asks the host again, or gives the claim back again
    if (released) clearDispatching(config.root, issue.id);
    const checkIt = `dx-runner check ${issue.id}${fleet ? ` --host ${target.host}` : ''}`;
    const claimNote = ack.mayHaveLaunched
      ? `; claim kept (the next run asks again): check it with ${checkIt}`
      : released
        ? '; claim released'
        : '; claim NOT released';
    deps.log(`${issue.id}: dispatch failed (${ack.reasonCode}): ${ack.error}${claimNote}`);
    // a full state root fails every later start the same way: claiming them would only churn bd.
    // On a fleet only that host is done for the night; the others go on taking work
    if (ack.reasonCode === 'disk_full' || ack.reasonCode === 'disk_low') {
      const why = `${ack.reasonCode}: dx-runner's state root is out of room`;
      if (placed) placed.host.outOfRoom = why;
      else outOfRoom = `${why}; nothing more starts tonight`;
    }
    item(issue, {
      action: 'failed',
      reason: `${ack.reasonCode}: ${ack.error}`,
      provider: target.provider,
      model: target.model,
      host: fleet ? target.host : null,
      ack_attempts: ack.attempts,
      claim_released: released,
    });
    // a start ended by the signal on its way here: the interrupted alert lists this item
    if (!(await stopAskedOnceSettled()))
      await alerter.send('dispatch_failed', '❌ nightly-dispatch: dispatch failed', [
        `Beads ID: ${issue.id}`,
        `Provider: ${target.provider}${fleet ? ` on ${target.host}` : ''}`,
        `Reason: ${ack.reasonCode}`,
        ...(ack.mayHaveLaunched ? [`Its job may be running there: the claim is kept (${checkIt})`] : []),
      ]);
  }
  const failed = items.some((i) => i.action === 'failed');
  const dispatched = items.filter((i) => i.action === 'dispatched');
  // an interrupted night says what it did in its own alert (finish)
  if (config.alertOnDispatchComplete && !options.dryRun && (dispatched.length > 0 || failed) && !stopAsked()) {
    await alerter.send(
      'dispatch_complete',
      `🌙 nightly-dispatch complete: ${dispatched.length} dispatched, ${items.filter((i) => i.action === 'failed').length} failed`,
      itemLines(),
    );
  }
  return finish(
    failed ? 'partial' : 'ok',
    failed ? ExitCode.general : 0,
    failed ? 'some items could not be dispatched (see items)' : null,
  );
}
