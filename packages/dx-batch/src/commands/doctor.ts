import { DxCommand, exitCodesHelp } from '@dx/cli-kit';
import { waveIdFlag } from '../waves/wave-id.js';
import type { DoctorOutput } from '../schemas.js';

export default class Doctor extends DxCommand<DoctorOutput> {
  static override summary = 'diagnose a wave: saturation, orphaned orchestrator, stale leases, lost jobs';
  static override description = `Issues are critical (they stop a wave: missing or corrupt state, dx-runner unavailable, exec
saturation), warnings (an operator should act: no live orchestrator, stale leases, a job dx-runner
lost) or info (stale job records the doctor removed).
${exitCodesHelp([0, 1])}
  (1: at least one critical or warning issue)`;

  static override examples = ['<%= config.bin %> doctor --wave-id wave-42 --json'];
  static override flags = { 'wave-id': waveIdFlag({ description: 'wave id', required: true }) };

  async run(): Promise<DoctorOutput> {
    const { flags } = await this.parse(Doctor);
    await this.core();
    const { diagnoseWave } = await import('../orchestrator/doctor.js');
    const { dxRunnerClient } = await import('../deps.js');
    const { batchRootPath, openBatchRoot, wavePaths } = await import('../waves/paths.js');
    const root = openBatchRoot(process.env, false) ?? batchRootPath(process.env);
    const report = await diagnoseWave(wavePaths(root, flags['wave-id']), dxRunnerClient());
    process.exitCode = report.issues.some((i) => i.severity !== 'info') ? 1 : 0;
    this.out(`Doctor Report for Wave: ${report.wave_id}\nChecked: ${report.checked_at}\n`);
    this.out(
      report.issues.length === 0
        ? 'No issues found.'
        : [
            'Issues Found:',
            ...report.issues.map((i) => `  [${i.severity.toUpperCase()}] ${i.type}: ${i.message}`),
          ].join('\n'),
    );
    if (report.recommendations.length > 0)
      this.out(['', 'Recommendations:', ...report.recommendations.map((r) => `  - ${r}`)].join('\n'));
    return report;
  }
}
