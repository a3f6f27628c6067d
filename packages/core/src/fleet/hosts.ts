import { DxError, ExitCode } from '../errors.js';
import type { FleetHostPolicy, Policy } from '../policy/schema.js';

/** This machine: always a host of the fleet, reached without SSH. */
export const LOCAL_HOST = 'local';

/** Every host of the fleet, `local` first, then the policy's in the order written. */
export function fleetHostNames(policy: Policy): string[] {
  return [LOCAL_HOST, ...Object.keys(policy.fleet.hosts)];
}

/** The policy's entry for a remote host; `local` and unknown names are not remote hosts. */
export function remoteHost(policy: Policy, name: string): FleetHostPolicy {
  const host = policy.fleet.hosts[name];
  if (!host)
    throw new DxError(`unknown host "${name}": the policy's fleet.hosts has ${fleetHostNames(policy).join(', ')}`, {
      exitCode: ExitCode.general,
      reasonCode: 'unknown_host',
      nextAction: 'add_the_host_to_the_policy_fleet_hosts',
      details: { host: name },
    });
  return host;
}
