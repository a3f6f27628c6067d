import {
  connectBudgetMs,
  connectHost,
  DxRunnerClient,
  fleetHostNames,
  isDxError,
  LOCAL_HOST,
  measureHostClock,
  type Policy,
  type Redactor,
} from '@dx/core';
import type { HostsResponse, JobRow } from '../schemas.js';

type LiveJob = HostsResponse['hosts'][number]['live_jobs'][number];

interface RemoteAnswer {
  reachable: boolean;
  failure: { reason_code: string; message: string } | null;
  live: LiveJob[];
  checkedAt: string;
  /** The host's clock against ours, read from its answer (as `fleet status` reads it). */
  clockOffsetMs: number | null;
}

/** A remote host's answer is asked again when a page looks at the hosts and it is older than this. */
const REMOTE_FRESH_MS = 15_000;

/**
 * What each fleet host runs, asked over SSH (`dx-runner status --json` on the host, read-only, with
 * the fleet's connect budget). Asked only while someone looks at the hosts view (a request in the
 * last minute), one question per host at a time, never more often than every 15 s; each answer lands
 * on its own (a dead host never delays the others) and `onUpdate` tells the open pages.
 */
export class RemoteHosts {
  private readonly answers = new Map<string, RemoteAnswer>();
  private readonly inFlight = new Set<string>();
  private lastLookedAt = 0;

  constructor(
    private readonly policy: Policy | undefined,
    private readonly env: NodeJS.ProcessEnv,
    private readonly redactor: Redactor,
    private readonly onUpdate: () => void,
  ) {}

  private remoteNames(): string[] {
    return this.policy ? fleetHostNames(this.policy).filter((n) => n !== LOCAL_HOST) : [];
  }

  /** A page asked for the hosts view: ask the hosts whose answer is missing or stale. */
  lookedAt(now = Date.now()): void {
    this.lastLookedAt = now;
    this.refresh(now);
  }

  /** The server's tick: keep the answers fresh while a page looked at the hosts in the last minute. */
  tick(now = Date.now()): void {
    if (now - this.lastLookedAt < 60_000) this.refresh(now);
  }

  private refresh(now: number): void {
    for (const name of this.remoteNames()) {
      const last = this.answers.get(name);
      if (this.inFlight.has(name) || (last && now - Date.parse(last.checkedAt) < REMOTE_FRESH_MS)) continue;
      this.inFlight.add(name);
      void this.ask(name).then((answer) => {
        this.inFlight.delete(name);
        this.answers.set(name, answer);
        this.onUpdate();
      });
    }
  }

  answer(name: string): RemoteAnswer | undefined {
    return this.answers.get(name);
  }

  private async ask(name: string): Promise<RemoteAnswer> {
    const checkedAt = () => new Date().toISOString();
    const policy = this.policy!;
    try {
      const { transport } = await connectHost(policy, name, this.env);
      const client = new DxRunnerClient({ transport, timeoutMs: connectBudgetMs(policy) });
      const askedAt = Date.now();
      const status = await client.status();
      const clock = measureHostClock(status.generated_at, askedAt, Date.now());
      const live = status.jobs
        .filter((j) => j.outcome_state === null)
        .map((j) => ({ beads: j.beads, provider: j.provider, state: j.state, source: `host ${name}` }));
      return {
        reachable: true,
        failure: null,
        live: this.redactor.redactDeep(live),
        checkedAt: checkedAt(),
        clockOffsetMs: clock ? Math.round(clock.offsetMs) : null,
      };
    } catch (err) {
      const reason = isDxError(err) ? err.reasonCode : 'host_error';
      const message = this.redactor.redact(err instanceof Error ? err.message : String(err));
      return {
        reachable: false,
        failure: { reason_code: reason, message },
        live: [],
        checkedAt: checkedAt(),
        clockOffsetMs: null,
      };
    }
  }
}

/**
 * The fleet as this machine sees it: `local` with the jobs of its own state root, and each policy
 * host with its caps, what it said it runs when last asked, and the live attempts dx-batch waves
 * here sent there.
 */
export function hostsView(
  policy: Policy | undefined,
  policyError: string | null,
  jobs: JobRow[],
  waveAttempts: Array<{ host: string; beads: string; provider: string; wave: string }>,
  remote: RemoteHosts,
): HostsResponse {
  const names = policy ? fleetHostNames(policy) : [LOCAL_HOST];
  return {
    policy_error: policyError,
    hosts: names.map((host) => {
      if (host === LOCAL_HOST)
        return {
          host,
          ssh: null,
          max_parallel: policy?.defaults.maxParallel ?? null,
          providers: null,
          reachable: true,
          failure: null,
          checked_at: new Date().toISOString(),
          clock_offset_ms: 0,
          live_jobs: jobs
            .filter((j) => j.live)
            .map((j) => ({ beads: j.beads, provider: j.provider, state: j.state, source: 'state root' })),
          finished_jobs: jobs.filter((j) => !j.live).length,
        };
      const entry = policy!.fleet.hosts[host];
      const asked = remote.answer(host);
      const fromWaves = waveAttempts
        .filter((a) => a.host === host && !asked?.live.some((j) => j.beads === a.beads))
        .map((a) => ({ beads: a.beads, provider: a.provider, state: null, source: `wave ${a.wave}` }));
      return {
        host,
        ssh: entry?.ssh ?? null,
        max_parallel: entry?.maxParallel ?? null,
        providers: entry?.providers ?? null,
        reachable: asked?.reachable ?? null,
        failure: asked?.failure ?? null,
        checked_at: asked?.checkedAt ?? null,
        clock_offset_ms: asked?.clockOffsetMs ?? null,
        live_jobs: [...(asked?.live ?? []), ...fromWaves],
        finished_jobs: null,
      };
    }),
  };
}
