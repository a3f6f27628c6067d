import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp } from '@dx/cli-kit';
import { waveIdFlag } from '../waves/wave-id.js';
import type { WaveReport } from '../schemas.js';

export default class Report extends DxCommand<WaveReport> {
  static override summary = 'summarise a wave: per item attempts, providers, verdicts, durations, tokens';
  static override description = `${exitCodesHelp([0, 1])}`;

  static override examples = ['<%= config.bin %> report --wave-id wave-42 --format markdown'];
  static override flags = {
    'wave-id': waveIdFlag({ description: 'wave id', required: true }),
    format: Flags.string({ description: 'output format', options: ['json', 'markdown'], default: 'markdown' }),
  };

  async run(): Promise<WaveReport> {
    const { flags } = await this.parse(Report);
    await this.core();
    const { batchRootPath, openBatchRoot, wavePaths } = await import('../waves/paths.js');
    const { loadWave } = await import('../waves/state.js');
    const { buildWaveReport, renderWaveReportMarkdown } = await import('../reports/report.js');
    const { orchestratorOf } = await import('../leases/wave-lock.js');
    const paths = wavePaths(openBatchRoot(process.env, false) ?? batchRootPath(process.env), flags['wave-id']);
    const wave = loadWave(paths);
    const report = buildWaveReport(wave, orchestratorOf(paths.lock, wave.config.lease_ttl_minutes));
    if (!this.jsonEnabled()) {
      if (flags.format === 'json') this.logJson(report);
      else this.out(renderWaveReportMarkdown(report).trimEnd());
    }
    return report;
  }
}
