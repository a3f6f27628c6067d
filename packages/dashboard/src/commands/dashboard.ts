import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp, flowText, policyFlag } from '@dx/cli-kit';
import type { DashboardListening } from '../schemas.js';

export default class Dashboard extends DxCommand<void> {
  static override summary = 'serve a live, read-only dashboard of jobs, waves, nights, providers and hosts';
  static override description =
    flowText(`Serves a web page over the state dx-runner, dx-batch and nightly-dispatch write (it never
writes any): every job with its health, one job's timeline, evidence and log tail, dx-batch waves as a
timeline, nightly-dispatch's morning reports, per-provider results over 24 h and 7 days, and the fleet's
hosts. Changes are pushed to open pages as they happen (file-system notifications, Server-Sent Events).
It listens on 127.0.0.1 (--port 0 picks a free port) and prints the URL; it runs until Ctrl-C.
Serving on another address needs --bind ADDR and --token together: a token is generated and printed
once, in the URL, and every request must carry it. Assets ship with dx-runner; the page loads nothing
from elsewhere.
${exitCodesHelp([0, 1, 22])}`);

  static override examples = [
    '<%= config.bin %> dashboard',
    '<%= config.bin %> dashboard --port 8787 --open',
    '<%= config.bin %> dashboard --bind 0.0.0.0 --port 8787 --token',
  ];

  static override flags = {
    port: Flags.integer({ description: 'port to listen on (0: any free port)', default: 0, min: 0, max: 65_535 }),
    bind: Flags.string({
      description: 'address to listen on (default 127.0.0.1); any non-loopback address also needs --token',
      helpValue: '<addr>',
    }),
    token: Flags.boolean({ description: 'require a generated token on every request (printed once, in the URL)' }),
    open: Flags.boolean({ description: 'open the page in the default browser (xdg-open)' }),
    policy: policyFlag,
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Dashboard);
    await this.core();
    const { resolveBind, newToken, startDashboard } = await import('../index.js');
    const bind = resolveBind(flags.bind, flags.token);
    const token = bind.tokenRequired ? newToken() : undefined;
    const dashboard = await startDashboard({ bind, port: flags.port, token, policyFile: flags.policy });
    const listening: DashboardListening = {
      event: 'listening',
      url: dashboard.url,
      bind: bind.bind,
      port: dashboard.port,
      token_required: bind.tokenRequired,
      state_dir: dashboard.stateDir,
      batch_dir: dashboard.batchDir,
      nightly_dir: dashboard.nightlyDir,
    };
    const visit = token ? `${dashboard.url}?token=${token}` : dashboard.url;
    if (this.jsonEnabled()) this.streamJson(listening);
    else this.log(`dashboard: ${dashboard.url}  (state ${dashboard.stateDir}; Ctrl-C stops it)`);
    // the one place the token is shown: to the operator who started the server, never in --json or a log
    if (token) process.stderr.write(`open: ${visit}\n`);
    if (flags.open) await this.openBrowser(visit);
    await new Promise<void>((resolve) => this.onInterrupt(() => resolve()));
    await dashboard.close();
  }

  private async openBrowser(url: string): Promise<void> {
    const { spawn } = await import('node:child_process');
    const child = spawn('xdg-open', [url], { detached: true, stdio: 'ignore' });
    child.on('error', () => this.warn(`could not run xdg-open; visit ${url.replace(/\?token=.*/, '')}`));
    child.unref();
  }
}
