import {
  DxRunnerClient,
  HostError,
  isDxError,
  LOCAL_HOST,
  remoteHost,
  SshTransport,
  verifyHostContract,
  type Policy,
} from '@dx/core';
import type { HostRecord } from '../waves/state.js';

/** A call failed because its host did not answer (ssh exit 255, timeout), not because of the job. */
export function isHostFailure(err: unknown): boolean {
  return err instanceof HostError || (isDxError(err) && err.reasonCode.startsWith('host_'));
}

/**
 * The dx-runner of each host of a wave, behind the same typed client: this machine's through a
 * process, the others' through the system ssh client. The orchestrator's own state stays here.
 */
export class WaveHosts {
  private readonly remote = new Map<string, { client: DxRunnerClient; transport: SshTransport }>();

  constructor(
    private readonly local: DxRunnerClient,
    private readonly policy: Policy,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** This machine, or a host the policy's fleet still names (one taken out of it cannot be reached). */
  knows(host: string): boolean {
    return host === LOCAL_HOST || this.policy.fleet.hosts[host] !== undefined;
  }

  client(host: string | null | undefined): DxRunnerClient {
    if (!host || host === LOCAL_HOST) return this.local;
    return this.remoteOf(host).client;
  }

  private remoteOf(host: string) {
    let entry = this.remote.get(host);
    if (!entry) {
      const transport = new SshTransport(remoteHost(this.policy, host), this.policy.fleet.ssh, this.env);
      entry = { client: new DxRunnerClient({ transport }), transport };
      this.remote.set(host, entry);
    }
    return entry;
  }

  /** Refuses a host whose dx-runner speaks another JSON contract (a no-op for local). */
  async verify(host: string): Promise<void> {
    if (host === LOCAL_HOST) return;
    await verifyHostContract(host, this.remoteOf(host).transport, this.policy, this.env);
  }

  /** Live jobs a host may run for this wave: its fleet entry's max_parallel, else the wave's. */
  capOf(host: string, waveMax: number): number {
    if (host === LOCAL_HOST) return waveMax;
    return this.policy.fleet.hosts[host]?.maxParallel ?? waveMax;
  }
}

/**
 * The hosts an attempt of `provider` may go to, best first: up, passed preflight for it, a free
 * slot; least loaded (running / cap) first, ties in the order the hosts were given. Empty when
 * every such host is full or down.
 */
export function rankHosts(
  hosts: readonly HostRecord[],
  provider: string,
  running: ReadonlyMap<string, number>,
  only?: string,
): string[] {
  const load = (h: HostRecord) => (running.get(h.host) ?? 0) / h.max_parallel;
  return hosts
    .map((h, order) => ({ h, order }))
    .filter(
      ({ h }) =>
        h.status === 'up' &&
        (only === undefined || h.host === only) &&
        h.providers.includes(provider) &&
        (running.get(h.host) ?? 0) < h.max_parallel,
    )
    .sort((a, b) => load(a.h) - load(b.h) || a.order - b.order)
    .map(({ h }) => h.host);
}
