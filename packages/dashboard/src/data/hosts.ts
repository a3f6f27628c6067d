import { fleetHostNames, LOCAL_HOST, type Policy } from '@dx/core';
import type { HostsResponse, JobRow } from '../schemas.js';

/**
 * The fleet as this machine sees it: `local` with the jobs of its own state root, and each policy
 * host with its caps and the live attempts dx-batch waves run there. A remote host's own state root
 * is not read (that would be an ssh call per refresh); `dx-runner status --host NAME` shows it.
 */
export function hostsView(
  policy: Policy | undefined,
  policyError: string | null,
  jobs: JobRow[],
  waveAttempts: Array<{ host: string; beads: string; provider: string; wave: string }>,
): HostsResponse {
  const names = policy ? fleetHostNames(policy) : [LOCAL_HOST];
  return {
    policy_error: policyError,
    hosts: names.map((host) => {
      const remote = host === LOCAL_HOST ? undefined : policy?.fleet.hosts[host];
      const live =
        host === LOCAL_HOST
          ? jobs.filter((j) => j.live).map((j) => ({ beads: j.beads, provider: j.provider, source: 'state root' }))
          : waveAttempts
              .filter((a) => a.host === host)
              .map((a) => ({ beads: a.beads, provider: a.provider, source: `wave ${a.wave}` }));
      return {
        host,
        ssh: remote?.ssh ?? null,
        max_parallel: remote ? (remote.maxParallel ?? null) : (policy?.defaults.maxParallel ?? null),
        providers: remote?.providers ?? null,
        live_jobs: live,
        finished_jobs: host === LOCAL_HOST ? jobs.filter((j) => !j.live).length : 0,
      };
    }),
  };
}
