import type { FleetPreflightOutput } from '@dx/core';
import { DxCommand, exitCodesHelp, policyFlag, renderTable } from '@dx/cli-kit';
import { bundledDxRunner } from '../../locate.js';

export default class FleetPreflight extends DxCommand<FleetPreflightOutput> {
  static override summary = "each host's provider chain: which providers pass preflight where";
  static override description = `Runs the fallback-chain preflight on local and every host of fleet.hosts, side by side (a host's
providers list, else its own policy's chain). Exits 0 when every host is reachable and has a
provider that passes, 21 when a reachable host has none, 26 when a host is down.
${exitCodesHelp([0, 1, 21, 26])}`;

  static override examples = ['<%= config.bin %> fleet preflight --json'];
  static override flags = { policy: policyFlag };

  async run(): Promise<FleetPreflightOutput> {
    const { flags } = await this.parse(FleetPreflight);
    const core = await this.core();
    const result = await core.fleetPreflight({
      policy: await this.policy(flags.policy),
      localTransport: new core.ProcessTransport(bundledDxRunner()),
    });
    process.exitCode = core.fleetPreflightExitCode(result);
    const rows = result.hosts.flatMap((h) =>
      h.chain
        ? h.chain.results.map((r) => [h.host, r.provider, r.ok ? 'ok' : 'FAIL', r.model, r.reason_code])
        : [[h.host, '-', 'DOWN', null, `${h.failure?.reason_code}: ${h.failure?.message}`]],
    );
    this.out(renderTable(['host', 'provider', 'preflight', 'model', 'reason'], rows, 90));
    // a misspelt provider further down a host's list is found now, not the night it is needed
    for (const h of result.hosts)
      for (const warning of h.chain?.warnings ?? []) this.out(`warning: ${h.host}: ${warning}`);
    return result;
  }
}
