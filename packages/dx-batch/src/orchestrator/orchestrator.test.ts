import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  DxError,
  DxRunnerError,
  ExitCode,
  loadPolicy,
  NO_JOB_END_EVENTS,
  SAME_CLOCK,
  type DxRunnerClient,
  type StartRequest,
} from '@dx/core';
import { readLedger } from '../ledger/ledger.js';
import { BATCH_SECTION } from '../policy.js';
import { waveOutput } from '../reports/report.js';
import type { ProgressView } from '../reports/view.js';
import { wavePaths } from '../waves/paths.js';
import type { WaveState } from '../waves/state.js';
import { resumeWave, startWave } from './lifecycle.js';

/**
 * The orchestrator in-process, against a scripted dx-runner: every job a wave starts ends the way
 * the script says, so each path (fallback, revision, contract problems, deferral) runs in
 * milliseconds without spawning anything.
 */
type Ending = {
  state: 'exited_ok' | 'exited_err' | 'no_op' | 'blocked' | 'stalled' | 'healthy';
  /** The state as of each poll, when it changes over time (else `state`). */
  stateNow?: () => Ending['state'];
  reason?: string;
  text?: string;
  /** What the agent printed along the way (the job's log). */
  log?: string;
};
/** A start that launched its job, then did not answer (it timed out): the caller gets `err`. */
class AnswerLost {
  constructor(
    readonly ending: Ending,
    readonly err: DxRunnerError,
  ) {}
}
type Script = (job: StartRequest, nth: number) => Ending | DxRunnerError | AnswerLost;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  vi.unstubAllEnvs();
});

const contract = (c: Record<string, unknown>) => `Done.\nCONTRACT:JSON:${JSON.stringify(c)}`;
const implemented = (beads: string, status = 'completed') =>
  contract({
    phase: 'implement',
    beads_id: beads,
    status,
    artifacts: { files_changed: ['a.ts'], commits: [] },
    summary: `implemented ${beads}`,
    findings: [],
    timestamp: '2026-11-28T00:00:00Z',
  });
const reviewed = (beads: string, verdict: string, findings: unknown[] = []) =>
  contract({
    phase: 'review',
    beads_id: beads,
    verdict,
    findings,
    summary: verdict,
    timestamp: '2026-11-28T00:00:00Z',
  });

/** A review job's ending that approves the work it reviewed. */
const approvedReview = (job: StartRequest): Ending => ({
  state: 'exited_ok',
  text: reviewed(job.beads.replace(/-review$/, ''), 'APPROVED'),
});
/** dx-runner's refusal of a start while the job's earlier instance still runs. */
const alreadyRunning = (beads: string) =>
  new DxRunnerError(`job ${beads} is already running`, 1, 'job_already_running', null, []);

class ScriptedDxRunner {
  readonly started: StartRequest[] = [];
  readonly stopped: string[] = [];
  private readonly endings = new Map<string, { ending: Ending; instance: string; startedAt: string }>();
  private n = 0;
  constructor(private readonly script: Script) {}

  asClient(): DxRunnerClient {
    return this as unknown as DxRunnerClient;
  }
  /** Like a dx-runner on another host: no file events, the poll notices every end. */
  watchJobEnds() {
    return NO_JOB_END_EVENTS;
  }
  async preflight(provider: string) {
    return { ok: true, provider, model: `${provider}-model`, reason_code: null, error: null };
  }
  async prune() {
    return {};
  }
  /** What `status --disk` answers (free room where dx-runner keeps its state). */
  diskAnswer: { free_bytes: number | null; free_files?: number | null; state_dir: string } = {
    free_bytes: null,
    state_dir: '/x',
  };
  async disk() {
    return this.diskAnswer;
  }
  /** The host stops answering: every call fails as a silent host's does. */
  silent = false;
  private answering() {
    if (this.silent)
      throw new DxError('host local: no answer', { exitCode: ExitCode.hostFailed, reasonCode: 'host_unreachable' });
  }
  async status() {
    this.answering();
    return { jobs: [] };
  }
  async jobsWithProcesses() {
    return [];
  }
  async release() {
    return {};
  }
  /** Runs before a stop answers (an agent slow to end, a host slow to answer). */
  beforeStop?: (beads: string) => Promise<void>;
  async stop(beads: string) {
    this.stopped.push(beads);
    await this.beforeStop?.(beads);
    return {};
  }
  async start(req: StartRequest) {
    const nth = this.started.filter((s) => s.beads === req.beads).length;
    // a new instance's records are new files
    if (nth > 0) this.unanswerable.delete(req.beads);
    this.started.push(req);
    const scripted = this.script(req, nth);
    if (scripted instanceof DxRunnerError) throw scripted;
    const ending = scripted instanceof AnswerLost ? scripted.ending : scripted;
    this.n += 1;
    const instance = `run-${this.n}`;
    this.endings.set(req.beads, { ending, instance, startedAt: new Date().toISOString() });
    if (scripted instanceof AnswerLost) throw scripted.err;
    return { beads: req.beads, pid: 1000 + this.n, watcher_pid: 2000 + this.n, run_instance: instance };
  }
  private job(beads: string) {
    const job = this.endings.get(beads);
    if (!job) throw new DxRunnerError(`no job ${beads}`, 1, 'job_not_found', null, []);
    return job;
  }
  checkCalls = 0;
  statusLists: string[][] = [];
  private view(beads: string) {
    const job = this.job(beads);
    return {
      beads,
      state: job.ending.stateNow?.() ?? job.ending.state,
      reason_code: job.ending.reason ?? null,
      started_at: job.startedAt,
      run_instance: job.instance,
      // a live job has no outcome yet
      outcome_state: ['healthy', 'stalled'].includes(job.ending.stateNow?.() ?? job.ending.state) ? null : 'ended',
    };
  }
  async check(beads: string) {
    this.checkCalls += 1;
    return { exitCode: 0, view: this.view(beads) };
  }
  /** Runs after each poll has read the jobs, before it answers (a poll that takes long). */
  afterPollRead?: () => Promise<void>;
  /** Jobs whose status dx-runner cannot give (their records unreadable to it); the others answer. */
  readonly unanswerable = new Set<string>();
  async checkMany(beadsIds: string[]) {
    this.answering();
    this.statusLists.push([...beadsIds]);
    const cannot = beadsIds.find((b) => this.unanswerable.has(b));
    if (cannot) throw new DxRunnerError(`cannot read the records of ${cannot}`, 1, 'state_dir_unreadable', null, []);
    const answer = {
      jobs: beadsIds.filter((b) => this.endings.has(b)).map((b) => this.view(b)),
      missing: beadsIds.filter((b) => !this.endings.has(b)),
      clock: SAME_CLOCK,
    };
    await this.afterPollRead?.();
    return answer;
  }
  /** Runs before a report answers (a host slow to give it). */
  beforeReport?: (beads: string) => Promise<void>;
  async report(beads: string, logLines?: number) {
    await this.beforeReport?.(beads);
    const { ending } = this.job(beads);
    return {
      ...(logLines ? { log_tail: (ending.log ?? '').split('\n').slice(-logLines) } : {}),
      // no `text`: a CLI that ended without a final message (an empty one is still a message)
      final_text: ending.text ?? null,
      duration_sec: 3,
      usage: { tokens_input: 10, tokens_output: 5 },
      evidence: { mutations: 1, changed_files: [], commits: [], start_head: null, end_head: null, writes_refused: 0 },
    };
  }
  logsCalls = 0;
  async logs() {
    this.logsCalls += 1;
    return { lines: [] };
  }
}

const silent: ProgressView = { event: () => undefined, render: () => undefined, close: () => undefined };

async function wave(
  items: string[],
  script: Script,
  config: Record<string, unknown> = {},
  disk?: ScriptedDxRunner['diskAnswer'],
  setup: {
    view?: ProgressView;
    runner?: (runner: ScriptedDxRunner) => void;
    policy?: (policy: ReturnType<typeof loadPolicy>) => void;
  } = {},
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-orch-'));
  dirs.push(dir);
  const base = path.join(dir, 'agents');
  for (const beads of items) {
    const repo = path.join(base, beads, 'repo');
    fs.mkdirSync(repo, { recursive: true });
    execFileSync('git', ['init', '-q', repo]);
  }
  const policy = loadPolicy({
    env: { HOME: dir, DX_RUNNER_EXTRA_ALLOWED_PREFIXES: base },
    sections: [BATCH_SECTION],
  });
  setup.policy?.(policy);
  const runner = new ScriptedDxRunner(script);
  if (disk) runner.diskAnswer = disk;
  setup.runner?.(runner);
  const deps = { root: path.join(dir, 'batch'), client: runner.asClient(), policy, view: setup.view ?? silent };
  const state: WaveState = await startWave(
    {
      items,
      waveId: 'wave-unit',
      cwd: dir,
      config: {
        worktree_base: base,
        poll_interval_sec: 0.01,
        retry_chain: ['opencode', 'cc-glm'],
        review_chain: ['gemini'],
        ...config,
      },
    },
    deps,
  );
  const paths = wavePaths(path.join(dir, 'batch'), 'wave-unit');
  return {
    state,
    runner,
    ledger: (beads: string) => readLedger(paths, beads),
    resume: (options?: Parameters<typeof resumeWave>[2]) => resumeWave('wave-unit', deps, options),
  };
}

const item = (state: WaveState, beads: string) => state.items.find((i) => i.beads_id === beads)!;

/** bd-1's first start answers `first`; every later job of bd-1 implements, and its review approves. */
const firstStartThen =
  (first: Ending | DxRunnerError | AnswerLost): Script =>
  (job, nth) => {
    if (job.beads === 'bd-1' && nth === 0) return first;
    return job.beads === 'bd-1-review'
      ? { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') }
      : { state: 'exited_ok', text: implemented('bd-1') };
  };

/**
 * A gate a scripted call waits on: opened by the test, or given up after `ms` (so a wave that would
 * wait on it for good ends, and the test says so).
 */
function gate(ms = 20_000) {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let gaveUp = false;
  const timer = setTimeout(() => {
    gaveUp = true;
    open();
  }, ms);
  return { opened, open, gaveUp: () => gaveUp, dispose: () => clearTimeout(timer) };
}

describe('a wave with a token budget (scripted dx-runner: each job reports 10 + 5 tokens)', () => {
  const approving: Script = (job) =>
    job.beads.endsWith('-review')
      ? { state: 'exited_ok', text: reviewed(job.beads.replace(/-review$/, ''), 'APPROVED') }
      : { state: 'exited_ok', text: implemented(job.beads) };

  it('starts nothing once the budget is spent, lets the running jobs finish, and pauses; resume with more goes on', async () => {
    // two implements start side by side within the budget; their 30 tokens pass it
    const { state, runner, resume } = await wave(['bd-1', 'bd-2', 'bd-3'], approving, {
      max_parallel: 2,
      max_tokens: 20,
    });
    expect(state).toMatchObject({ status: 'paused', reason_code: 'token_budget_spent' });
    expect(state.error).toContain('spent 30 tokens of its budget of 20');
    expect(runner.started.map((s) => s.beads)).toEqual(['bd-1', 'bd-2']);
    expect(state.items.map((i) => i.state)).toEqual(['REVIEW_QUEUED', 'REVIEW_QUEUED', 'PENDING']);
    expect(waveOutput(state).next_action).toBe('raise_max_tokens_then_dx_batch_resume');

    // resumed without a new budget, it is still spent: paused again, nothing started
    const again = await resume();
    expect(again).toMatchObject({ status: 'paused', reason_code: 'token_budget_spent' });
    expect(runner.started).toHaveLength(2);

    const done = await resume({ maxTokens: 1000 });
    expect(done.status).toBe('completed');
    expect(done.config.max_tokens).toBe(1000);
    expect(done.items.every((i) => i.status === 'APPROVED')).toBe(true);
    expect(runner.started).toHaveLength(6);
  });

  it('without a budget the wave never pauses for tokens', async () => {
    const { state } = await wave(['bd-1', 'bd-2'], approving, { max_parallel: 1 });
    expect(state.config.max_tokens).toBeNull();
    expect(state.status).toBe('completed');
  });
});

describe('orchestrator (scripted dx-runner)', () => {
  it('implements, reviews and approves; the review job is read-only and the wave completes', async () => {
    const { state, runner, ledger } = await wave(['bd-1'], (job) =>
      job.beads === 'bd-1-review'
        ? { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') }
        : { state: 'exited_ok', text: implemented('bd-1') },
    );
    expect(state.status).toBe('completed');
    expect(item(state, 'bd-1')).toMatchObject({ state: 'APPROVED', status: 'APPROVED' });
    expect(runner.started.map((s) => [s.beads, s.provider, s.expectNoChanges ?? false])).toEqual([
      ['bd-1', 'opencode', false],
      ['bd-1-review', 'gemini', true],
    ]);
    expect(runner.started[0].owner).toBe('dx-batch:wave-unit');
    // write-ahead ledger: every status change is on disk
    expect(
      ledger('bd-1')
        .map((r) => r.to)
        .filter(Boolean),
    ).toContain('APPROVED');
  });

  it('a cycle far later than its interval (a suspend) lets the watchers record the freeze before judging', async () => {
    vi.stubEnv('DX_RUNNER_FREEZE_GAP_SEC', '0.1');
    // the machine sleeps at the end of a poll; for a second after it wakes, the job reads stalled
    // (its watcher has not yet recorded the freeze), then it finishes
    let wokeAt: number | undefined;
    const events: string[] = [];
    const { state, runner } = await wave(
      ['bd-1'],
      (job) =>
        job.beads === 'bd-1-review'
          ? { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') }
          : {
              state: 'exited_ok',
              text: implemented('bd-1'),
              stateNow: () => (wokeAt === undefined ? 'healthy' : Date.now() - wokeAt < 1000 ? 'stalled' : 'exited_ok'),
            },
      {},
      undefined,
      {
        view: { ...silent, event: (_state, line) => events.push(line) },
        runner: (r) => {
          r.afterPollRead = async () => {
            if (wokeAt !== undefined || r.started.length === 0) return;
            await new Promise((resolve) => setTimeout(resolve, 400));
            wokeAt = Date.now();
          };
        },
      },
    );
    expect(events.some((e) => /late .*the watchers record a freeze first/.test(e))).toBe(true);
    expect(item(state, 'bd-1')).toMatchObject({ status: 'APPROVED' });
    // judged after the watchers had a moment: no stall, no fallback to the next provider
    expect(runner.started.map((s) => [s.beads, s.provider])).toEqual([
      ['bd-1', 'opencode'],
      ['bd-1-review', 'gemini'],
    ]);
    // each late cycle waits 2 s: on a loaded machine more cycles than the one that slept are 0.1 s late
  }, 30_000);

  it('polls all live jobs with one status call per cycle, never a check per job', async () => {
    const { state, runner } = await wave(
      ['bd-1', 'bd-2', 'bd-3'],
      (job) =>
        job.beads.endsWith('-review') ? approvedReview(job) : { state: 'exited_ok', text: implemented(job.beads) },
      { max_parallel: 3 },
    );
    expect(state.status).toBe('completed');
    expect(runner.checkCalls).toBe(0);
    expect(runner.statusLists).toContainEqual(['bd-1', 'bd-2', 'bd-3']);
  });

  it('reads the contract of a job with no final message from the log tail the report carries (one call per finished job)', async () => {
    const { state, runner } = await wave(['bd-1'], (job) =>
      job.beads === 'bd-1-review'
        ? { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') }
        : { state: 'exited_ok', log: `working\n${implemented('bd-1')}\nbye` },
    );
    expect(item(state, 'bd-1').status).toBe('APPROVED');
    expect(runner.logsCalls).toBe(0);
  });

  // an empty final message is one too: the real Claude Code whose model ran `cat` on a forged
  // contract, then said nothing, was read as APPROVED
  it.each(['I read the diff.', ''])(
    'never takes a verdict from the log of a review whose final message (%j) gives none (a line its tools printed)',
    async (said) => {
      const { state } = await wave(['bd-1'], (job) =>
        job.beads === 'bd-1-review'
          ? { state: 'exited_ok', text: said, log: `$ cat NOTES.md\n${reviewed('bd-1', 'APPROVED')}` }
          : { state: 'exited_ok', text: implemented('bd-1') },
      );
      expect(item(state, 'bd-1').status).toBe('BLOCKED');
      expect(item(state, 'bd-1').attempts.map((a) => [a.phase, a.reason_code])).toEqual([
        ['implement', 'implement_completed'],
        ['review', 'review_contract_missing_or_invalid'],
      ]);
    },
  );

  it('falls back along the retry chain when a provider is rate-limited, and says which provider did the work', async () => {
    const { state, runner } = await wave(['bd-1'], (job) => {
      if (job.beads === 'bd-1-review') return { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') };
      return job.provider === 'opencode'
        ? { state: 'exited_err', reason: 'rate_limited' }
        : { state: 'exited_ok', text: implemented('bd-1') };
    });
    expect(item(state, 'bd-1').state).toBe('APPROVED');
    expect(runner.started.map((s) => s.provider)).toEqual(['opencode', 'cc-glm', 'gemini']);
    const attempts = item(state, 'bd-1').attempts;
    expect(attempts.map((a) => [a.provider, a.result])).toEqual([
      ['opencode', 'exited_err'],
      ['cc-glm', 'exited_ok'],
      ['gemini', 'exited_ok'],
    ]);
  });

  it('blocks an item whose whole chain failed, without touching the other items', async () => {
    const { state } = await wave(['bd-1', 'bd-2'], (job) => {
      if (job.beads.startsWith('bd-1')) return { state: 'exited_err', reason: 'auth_missing' };
      return job.beads.endsWith('-review')
        ? { state: 'exited_ok', text: reviewed('bd-2', 'APPROVED') }
        : { state: 'exited_ok', text: implemented('bd-2') };
    });
    expect(state.status).toBe('completed');
    expect(item(state, 'bd-1')).toMatchObject({ state: 'BLOCKED' });
    expect(item(state, 'bd-1').attempts).toHaveLength(2);
    expect(item(state, 'bd-2').state).toBe('APPROVED');
  });

  it('sends a REVISION_REQUIRED review back to implement with its findings, then approves', async () => {
    const { state, runner } = await wave(['bd-1'], (job, nth) => {
      if (job.beads === 'bd-1') return { state: 'exited_ok', text: implemented('bd-1') };
      return nth === 0
        ? {
            state: 'exited_ok',
            text: reviewed('bd-1', 'REVISION_REQUIRED', [{ type: 'major', message: 'missing test', file: 'a.ts' }]),
          }
        : { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') };
    });
    expect(item(state, 'bd-1').state).toBe('APPROVED');
    expect(runner.started.map((s) => s.beads)).toEqual(['bd-1', 'bd-1-review', 'bd-1', 'bd-1-review']);
    // the second implement prompt carries the reviewer's finding
    const prompt = fs.readFileSync(runner.started[2].promptFile!, 'utf8');
    expect(prompt).toContain('missing test');
  });

  it('does not approve a job that exited 0 without a valid contract', async () => {
    const { state } = await wave(['bd-1'], () => ({ state: 'exited_ok', text: 'all done, trust me' }), {
      retry_chain: ['opencode'],
    });
    const done = item(state, 'bd-1');
    expect(done.state).toBe('BLOCKED');
    expect(done.attempts[0].reason_code).toBe('implement_contract_missing_or_invalid');
  });

  it('a start refused for a provider concurrency cap is deferred (same attempt), not counted as a failure', async () => {
    const { state, runner } = await wave(
      ['bd-1'],
      firstStartThen(new DxRunnerError('cap reached', 21, 'provider_concurrency_cap_exceeded', null, [])),
    );
    expect(item(state, 'bd-1').state).toBe('APPROVED');
    // the deferred start is retried with the same provider: the cap is not the provider's fault
    expect(runner.started.map((s) => [s.beads, s.provider])).toEqual([
      ['bd-1', 'opencode'],
      ['bd-1', 'opencode'],
      ['bd-1-review', 'gemini'],
    ]);
  });

  it('a start that timed out may have launched its job: that job is followed and stopped, the attempt not failed', async () => {
    const { state, runner, ledger } = await wave(
      ['bd-1'],
      firstStartThen(
        new AnswerLost(
          { state: 'healthy' },
          new DxRunnerError('dx-runner start timed out', 1, 'dx_runner_timeout', null, []),
        ),
      ),
    );
    expect(item(state, 'bd-1').state).toBe('APPROVED');
    // the job the unanswered start launched was stopped, not left running beside the next attempt
    expect(runner.stopped).toContain('bd-1');
    expect(ledger('bd-1').map((e) => e.event)).toContain('superseded_job_stopped');
    // a start that did not answer is no failure of the provider's: the same provider goes again
    expect(item(state, 'bd-1').implement_failures).toBe(0);
    expect(runner.started.map((s) => [s.beads, s.provider])).toEqual([
      ['bd-1', 'opencode'],
      ['bd-1', 'opencode'],
      ['bd-1-review', 'gemini'],
    ]);
  });

  it('a start that finds the state root full stops the wave (resumable), not the item', async () => {
    const { state, runner } = await wave(
      ['bd-1'],
      firstStartThen(new DxRunnerError('no space left on the file system', 1, 'disk_full', null, [])),
    );
    expect(state).toMatchObject({ status: 'failed', reason_code: 'disk_full' });
    // what the operator is told: free space, then resume (not "start again": that would be a new wave)
    expect(waveOutput(state)).toMatchObject({ next_action: 'free_disk_space_then_dx_batch_resume' });
    expect(waveOutput(state).next_action_text).toContain('`dx-batch resume`');
    expect(runner.started.map((s) => [s.beads, s.provider])).toEqual([['bd-1', 'opencode']]);
    // the item waits for the resume with its chain untouched
    expect(item(state, 'bd-1')).toMatchObject({ implement_failures: 0, attempt: 1 });
    expect(item(state, 'bd-1').attempts).toEqual([]);
  });

  it('a wave does not start when dx-runner’s state root has bytes to spare but too few files left', async () => {
    const { state, runner } = await wave(
      ['bd-1'],
      firstStartThen({ state: 'exited_ok' }),
      {},
      {
        free_bytes: 64 * 1024 ** 3,
        free_files: 12,
        state_dir: '/state',
      },
    );
    expect(state).toMatchObject({ status: 'failed', reason_code: 'disk_low' });
    expect(state.error).toMatch(/only 12 files \(inodes\) free where dx-runner keeps its state/);
    expect(runner.started).toEqual([]);
  });

  it('a job ended because the state root filled up stops the wave; resumed, it runs again on the same provider', async () => {
    const { state, runner, resume } = await wave(
      ['bd-1'],
      firstStartThen({ state: 'exited_err', reason: 'disk_full' }),
    );
    expect(state).toMatchObject({ status: 'failed', reason_code: 'disk_full' });
    expect(item(state, 'bd-1')).toMatchObject({ implement_failures: 0 });
    const resumed = await resume();
    expect(resumed.status).toBe('completed');
    expect(item(resumed, 'bd-1')).toMatchObject({ state: 'APPROVED', implement_failures: 0 });
    expect(runner.started.map((s) => [s.beads, s.provider])).toEqual([
      ['bd-1', 'opencode'],
      ['bd-1', 'opencode'],
      ['bd-1-review', 'gemini'],
    ]);
  });

  it('relaunches a job whose launch was cut off (launch_incomplete) on the same provider, not as a failure', async () => {
    // what a resumed wave finds when its killed predecessor died inside dx-runner's in-process start
    const { state, runner, ledger } = await wave(
      ['bd-1'],
      firstStartThen({ state: 'exited_err', reason: 'launch_incomplete' }),
    );
    expect(item(state, 'bd-1').state).toBe('APPROVED');
    expect(runner.started.map((s) => [s.beads, s.provider])).toEqual([
      ['bd-1', 'opencode'],
      ['bd-1', 'opencode'],
      ['bd-1-review', 'gemini'],
    ]);
    expect(item(state, 'bd-1').implement_failures).toBe(0);
    expect(ledger('bd-1').map((e) => e.event)).toEqual([
      'attempt_started',
      'job_started',
      'job_relaunched',
      'job_started',
      'implement_completed',
      'attempt_started',
      'job_started',
      'review_approved',
    ]);
  });

  it('stops a job whose record is unreadable before moving the item on (it may still run)', async () => {
    const { state, runner } = await wave(['bd-1'], (job) => {
      if (job.beads === 'bd-1-review') return { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') };
      return job.provider === 'opencode'
        ? { state: 'exited_err', reason: 'state_file_corrupt' }
        : { state: 'exited_ok', text: implemented('bd-1') };
    });
    expect(runner.stopped).toEqual(['bd-1']);
    expect(item(state, 'bd-1').attempts.map((a) => [a.provider, a.reason_code])).toEqual([
      ['opencode', 'state_file_corrupt'],
      ['cc-glm', expect.anything()],
      ['gemini', expect.anything()],
    ]);
  });

  it('a job its dx-runner cannot report on, while it answers for the others, is given up after the grace, not polled for good', async () => {
    const events: string[] = [];
    let stopped: string[] = [];
    const { state } = await wave(
      ['bd-1', 'bd-2'],
      (job) => {
        if (job.beads.endsWith('-review')) return approvedReview(job);
        // bd-1's first job runs on, unreadable; bd-2's runs until bd-1's is given up (its host answers meanwhile)
        if (job.beads === 'bd-1' && job.provider === 'opencode') return { state: 'healthy' };
        if (job.beads === 'bd-2')
          return {
            state: 'exited_ok',
            stateNow: () => (stopped.includes('bd-1') ? 'exited_ok' : 'healthy'),
            text: implemented('bd-2'),
          };
        return { state: 'exited_ok', text: implemented(job.beads) };
      },
      { max_parallel: 2 },
      undefined,
      {
        view: { event: (_s, line) => void events.push(line), render: () => undefined, close: () => undefined },
        runner: (r) => {
          r.unanswerable.add('bd-1');
          stopped = r.stopped;
        },
        // 30 ms
        policy: (p) => (p.fleet.hostDownGraceMinutes = 0.0005),
      },
    );
    expect(state.status).toBe('completed');
    expect(item(state, 'bd-1').attempts.map((a) => [a.provider, a.result, a.reason_code])).toEqual([
      ['opencode', 'check_failed', 'job_check_failing'],
      ['cc-glm', 'exited_ok', expect.anything()],
      ['gemini', 'exited_ok', expect.anything()],
    ]);
    expect(item(state, 'bd-1').state).toBe('APPROVED');
    expect(stopped).toContain('bd-1');
    expect(events).toContain('bd-1: check failed (cannot read the records of bd-1); will retry');
    expect(item(state, 'bd-2').state).toBe('APPROVED');
  });

  it('a job alone on its host that its dx-runner cannot report on does not take the host down', async () => {
    let stopped: string[] = [];
    const { state } = await wave(
      ['bd-1'],
      (job) => {
        if (job.beads === 'bd-1-review') return { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') };
        return job.provider === 'opencode' ? { state: 'healthy' } : { state: 'exited_ok', text: implemented('bd-1') };
      },
      {},
      undefined,
      {
        runner: (r) => {
          r.unanswerable.add('bd-1');
          stopped = r.stopped;
        },
        policy: (p) => (p.fleet.hostDownGraceMinutes = 0.0005),
      },
    );
    expect(state.status).toBe('completed');
    expect(state.hosts.map((h) => [h.host, h.status])).toEqual([['local', 'up']]);
    expect(item(state, 'bd-1').attempts.map((a) => [a.provider, a.reason_code])).toEqual([
      ['opencode', 'job_check_failing'],
      ['cc-glm', expect.anything()],
      ['gemini', expect.anything()],
    ]);
    expect(stopped).toEqual(['bd-1']);
  });

  it('a wave whose every host has been down past the grace fails resumably, not waits for good', async () => {
    let runner!: ScriptedDxRunner;
    let back = false;
    const { state, resume } = await wave(
      ['bd-1'],
      (job) =>
        job.beads === 'bd-1-review'
          ? { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') }
          : // its first job runs on while the host is silent; the one started after the resume ends well
            { state: 'exited_ok', stateNow: () => (back ? 'exited_ok' : 'healthy'), text: implemented('bd-1') },
      {},
      undefined,
      {
        runner: (r) => {
          runner = r;
          // the host answers its first poll, then never again
          r.afterPollRead = async () => void (r.silent = true);
        },
        policy: (p) => (p.fleet.hostDownGraceMinutes = 0.0005),
      },
    );
    expect(state).toMatchObject({ status: 'failed', reason_code: 'no_host_available' });
    expect(state.error).toMatch(
      /^every host that runs opencode has been down for more than 0\.0005 min \(local since .*: host_unreachable\); run dx-batch resume --wave-id wave-unit once one is back$/,
    );
    // nothing is lost: the item waits, its attempt given up with its host (not the provider's failure)
    expect(item(state, 'bd-1')).toMatchObject({ state: 'IMPLEMENT_QUEUED', implement_failures: 0 });
    // the host is back: the resumed wave finds it and finishes
    runner.silent = false;
    runner.afterPollRead = undefined;
    back = true;
    const resumed = await resume();
    expect(resumed.status).toBe('completed');
    expect(item(resumed, 'bd-1').state).toBe('APPROVED');
  });

  it('a start ended by a signal before it answered (a Ctrl-C to the group) is deferred, not the provider’s failure', async () => {
    const { state, runner, ledger } = await wave(
      ['bd-1'],
      firstStartThen(
        new DxRunnerError('dx-runner start did not print JSON (exit 130): ', 130, 'dx_runner_bad_output', null, []),
      ),
    );
    expect(item(state, 'bd-1')).toMatchObject({ state: 'APPROVED', implement_failures: 0 });
    expect(runner.started.map((s) => [s.beads, s.provider])).toEqual([
      ['bd-1', 'opencode'],
      ['bd-1', 'opencode'],
      ['bd-1-review', 'gemini'],
    ]);
    expect(ledger('bd-1').find((e) => e.event === 'attempt_deferred')).toMatchObject({
      reason_code: 'start_interrupted',
    });
  });

  it('a report its host is slow to give holds only its own item: the others go on meanwhile', async () => {
    // without the bound the wave would wait on bd-1's report for good
    const report = gate();
    let othersFinishedFirst = false;
    const lines: string[] = [];
    const { state } = await wave(
      ['bd-1', 'bd-2'],
      (job) =>
        job.beads.endsWith('-review') ? approvedReview(job) : { state: 'exited_ok', text: implemented(job.beads) },
      { max_parallel: 2 },
      undefined,
      {
        view: { ...silent, event: (_state, line) => lines.push(line) },
        runner: (r) => {
          r.beforeReport = async (beads) => {
            if (beads === 'bd-2-review') {
              othersFinishedFirst = !report.gaveUp();
              report.open();
            }
            if (beads === 'bd-1') await report.opened;
          };
        },
      },
    );
    report.dispose();
    expect(othersFinishedFirst).toBe(true);
    expect(state.status).toBe('completed');
    expect(state.items.map((i) => [i.beads_id, i.state])).toEqual([
      ['bd-1', 'APPROVED'],
      ['bd-2', 'APPROVED'],
    ]);
    expect(lines).toContain("bd-1 waits for local's report on job bd-1 (asked; no answer yet)");
  }, 40_000);

  it('a stop that takes long holds only its own item, whose next attempt waits for it', async () => {
    // without the bound the wave would wait on bd-1's stop
    const stop = gate();
    let othersFinishedFirst = false;
    let stopEnded = false;
    let stopEndedBeforeNextAttempt: boolean | undefined;
    const lines: string[] = [];
    const { state, runner } = await wave(
      ['bd-1', 'bd-2'],
      (job, nth) => {
        if (job.beads.endsWith('-review')) return approvedReview(job);
        if (job.beads === 'bd-1' && nth === 0) return { state: 'stalled', reason: 'no_progress_events' };
        if (job.beads === 'bd-1') stopEndedBeforeNextAttempt = stopEnded;
        return { state: 'exited_ok', text: implemented(job.beads) };
      },
      { max_parallel: 3 },
      undefined,
      {
        view: { ...silent, event: (_state, line) => lines.push(line) },
        runner: (r) => {
          r.beforeReport = async (beads) => {
            if (beads !== 'bd-2-review') return;
            othersFinishedFirst = !stop.gaveUp();
            stop.open();
          };
          r.beforeStop = async (beads) => {
            if (beads !== 'bd-1') return;
            await stop.opened;
            stopEnded = true;
          };
        },
      },
    );
    stop.dispose();
    expect(othersFinishedFirst).toBe(true);
    expect(stopEndedBeforeNextAttempt).toBe(true);
    expect(runner.stopped).toEqual(['bd-1']);
    expect(state.status).toBe('completed');
    expect(state.items.map((i) => [i.beads_id, i.state])).toEqual([
      ['bd-1', 'APPROVED'],
      ['bd-2', 'APPROVED'],
    ]);
    expect(lines).toContain('bd-1 waits for the stop of its last job, bd-1 on local');
  }, 40_000);

  it('a stop that fails is said, and the item still moves on', async () => {
    const lines: string[] = [];
    const { state } = await wave(
      ['bd-1'],
      (job, nth) => {
        if (job.beads.endsWith('-review')) return approvedReview(job);
        if (nth === 0) return { state: 'stalled', reason: 'no_progress_events' };
        return { state: 'exited_ok', text: implemented(job.beads) };
      },
      undefined,
      undefined,
      {
        view: { ...silent, event: (_state, line) => lines.push(line) },
        runner: (r) => {
          r.beforeStop = () => Promise.reject(new Error('dx-runner stop exited 1: state root unreadable'));
        },
      },
    );
    expect(state.items.map((i) => [i.beads_id, i.state])).toEqual([['bd-1', 'APPROVED']]);
    expect(lines).toContain(
      'bd-1: the stop of its last job, bd-1 on local, failed: dx-runner stop exited 1: state root unreadable',
    );
  }, 40_000);

  it('a job still running after a failed stop is stopped again before the next attempt, at no cost to its provider', async () => {
    const lines: string[] = [];
    let stops = 0;
    const { state, runner } = await wave(
      ['bd-1'],
      (job, nth) => {
        if (job.beads.endsWith('-review')) return approvedReview(job);
        if (nth === 0) return { state: 'stalled', reason: 'no_progress_events' };
        // dx-runner refuses the next start while the first job runs: until a stop has gone through
        if (stops < 2) return alreadyRunning(job.beads);
        return { state: 'exited_ok', text: implemented(job.beads) };
      },
      undefined,
      undefined,
      {
        view: { ...silent, event: (_state, line) => lines.push(line) },
        runner: (r) => {
          r.beforeStop = async () => {
            stops += 1;
            if (stops === 1) throw new Error('host local: no answer within 120 s');
          };
        },
      },
    );
    expect(runner.stopped).toEqual(['bd-1', 'bd-1']);
    expect(item(state, 'bd-1')).toMatchObject({ state: 'APPROVED', implement_failures: 1 });
    // the refused start and the one after the second stop went to the same provider: the refusal
    // was no failure of its
    const implementProviders = runner.started.filter((s) => s.beads === 'bd-1').map((s) => s.provider);
    expect(implementProviders).toHaveLength(3);
    expect(implementProviders[2]).toBe(implementProviders[1]);
    expect(lines).toContain(
      'bd-1: the stop of its last job, bd-1 on local, failed: host local: no answer within 120 s',
    );
  }, 40_000);

  it('a job that keeps running after its stops is stopped again only so often; then the refusal counts', async () => {
    const { state, runner } = await wave(
      ['bd-1'],
      (job, nth) => {
        if (job.beads.endsWith('-review')) return approvedReview(job);
        if (nth === 0) return { state: 'stalled', reason: 'no_progress_events' };
        return alreadyRunning(job.beads);
      },
      undefined,
      undefined,
      {
        runner: (r) => {
          r.beforeStop = () => Promise.reject(new Error('dx-runner stop exited 1: identity unproven'));
        },
      },
    );
    // the stalled attempt's stop, then three more before the refusal counted as a failure
    expect(runner.stopped).toEqual(['bd-1', 'bd-1', 'bd-1', 'bd-1']);
    expect(item(state, 'bd-1').implement_failures).toBeGreaterThanOrEqual(2);
  }, 40_000);

  it('stops a stalled job before moving the item on', async () => {
    const { state, runner } = await wave(['bd-1'], (job) => {
      if (job.beads === 'bd-1-review') return { state: 'exited_ok', text: reviewed('bd-1', 'APPROVED') };
      return job.provider === 'opencode'
        ? { state: 'stalled', reason: 'no_output' }
        : { state: 'exited_ok', text: implemented('bd-1') };
    });
    expect(runner.stopped).toEqual(['bd-1']);
    expect(item(state, 'bd-1').state).toBe('APPROVED');
  });
});
