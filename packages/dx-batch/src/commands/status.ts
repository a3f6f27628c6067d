import { DxCommand, exitCodesHelp } from '@dx/cli-kit';
import { waveIdFlag } from '../waves/wave-id.js';
import type { WaveOutput } from '../schemas.js';
import { finishWave } from '../render/wave-output.js';

export default class Status extends DxCommand<WaveOutput> {
  static override summary = "show a wave's state and every item";
  static override description = `The full wave state (items, attempts, preflight, config) with --json.
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> status --wave-id wave-42',
    '<%= config.bin %> status --wave-id wave-42 --json',
  ];
  static override flags = { 'wave-id': waveIdFlag({ description: 'wave id', required: true }) };

  async run(): Promise<WaveOutput> {
    const { flags } = await this.parse(Status);
    await this.core();
    const { batchRootPath, openBatchRoot, wavePaths } = await import('../waves/paths.js');
    const { loadWave } = await import('../waves/state.js');
    const { orchestratorOf } = await import('../leases/wave-lock.js');
    const root = openBatchRoot(process.env, false) ?? batchRootPath(process.env);
    const paths = wavePaths(root, flags['wave-id']);
    const wave = loadWave(paths);
    return finishWave((t) => this.out(t), wave, orchestratorOf(paths.lock, wave.config.lease_ttl_minutes));
  }
}
