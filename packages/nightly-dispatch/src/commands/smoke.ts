import { DxCommand, exitCodesHelp, policyFlag } from '@dx/cli-kit';
import type { SmokeOutput } from '../schemas.js';

export default class Smoke extends DxCommand<SmokeOutput> {
  static override summary = 'The real-CLI smoke test against the installed dx-runner; one Slack alert if it fails';
  static override description = `Runs, as a cron job would: dx-runner preflight --provider=<p> for opencode, cc-glm and
gemini (0 available; 21 or 25 unavailable), dx-runner start --beads=<id> --provider=cc-glm --dry-run
(0) in a throwaway worktree under the first allowed prefix, dx-runner check <id> (0 or 1) and
dx-runner kill <id> (cleanup). When any check fails, one alert goes to the Slack webhook of the
night's alerts (same rate limit). Cron it every 6 hours next to the nightly run.
${exitCodesHelp([0, 1])}
  (1: a check failed)`;

  static override examples = ['<%= config.bin %> smoke', '<%= config.bin %> smoke --json'];
  static override flags = { policy: policyFlag };

  async run(): Promise<SmokeOutput> {
    const { flags } = await this.parse(Smoke);
    await this.core();
    const { nightDeps } = await import('../deps.js');
    const { runSmoke } = await import('../smoke/smoke.js');
    const log = (line: string) => process.stderr.write(`${new Date().toISOString()} nightly-dispatch ${line}\n`);
    const deps = nightDeps({ policyFile: flags.policy, log });
    const result = await runSmoke(deps);
    process.exitCode = result.ok ? 0 : 1;
    for (const c of result.checks)
      this.out(
        `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.argv.join(' ')} → exit ${c.exit_code}${c.ok ? '' : ` (expected ${c.expected.join(' or ')})`}`,
      );
    this.out(result.ok ? 'smoke test passed' : 'smoke test FAILED');
    return result;
  }
}
