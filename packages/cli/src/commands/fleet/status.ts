import type { FleetStatusOutput } from '@dx/core';
import { DxCommand, exitCodesHelp, policyFlag, renderTable } from '@dx/cli-kit';
import { bundledDxRunner } from '../../locate.js';

export default class FleetStatus extends DxCommand<FleetStatusOutput> {
  static override summary = 'every host of the fleet in one table: reachable, versions, live jobs, providers, load';
  static override description = `Queries local and every host of the policy's fleet.hosts side by side over SSH, each bounded by
the connect timeout (fleet.ssh.connect_timeout_sec): one slow or dead host never delays the
others. A host is unreachable with its reason (host_unreachable, host_auth_failed,
host_key_mismatch, host_contract_mismatch). "clock" is how far the host's clock is off this
machine's (+ ahead, - behind), read from its answer. Exits 26 when a host is down.
${exitCodesHelp([0, 1, 26])}`;

  static override examples = ['<%= config.bin %> fleet status', '<%= config.bin %> fleet status --json'];
  static override flags = { policy: policyFlag };

  async run(): Promise<FleetStatusOutput> {
    const { flags } = await this.parse(FleetStatus);
    const core = await this.core();
    const result = await core.fleetStatus({
      policy: await this.policy(flags.policy),
      localTransport: new core.ProcessTransport(bundledDxRunner()),
    });
    process.exitCode = core.fleetStatusExitCode(result);
    this.out(
      renderTable(
        ['host', 'reachable', 'version', 'contract', 'jobs/cap', 'providers ok', 'load', 'clock', 'why'],
        result.hosts.map((h) => [
          h.host,
          h.reachable ? 'yes' : 'NO',
          h.version,
          h.json_contract_version,
          h.live_jobs === null ? null : `${h.live_jobs}/${h.max_parallel ?? '-'}`,
          h.providers_ok.join(','),
          h.load?.join(' '),
          h.clock_offset_ms === null ? null : clockOffset(h.clock_offset_ms),
          h.failure ? `${h.failure.reason_code}: ${h.failure.message}` : null,
        ]),
        90,
      ),
    );
    return result;
  }
}

/** A clock offset to the second: `+0s`, `-30s`. */
function clockOffset(ms: number): string {
  return `${ms < 0 ? '-' : '+'}${Math.round(Math.abs(ms) / 1000)}s`;
}
