import { DxCommand, exitCodesHelp } from '@dx/cli-kit';
import { waveIdFlag } from '../waves/wave-id.js';
import type { CancelOutput } from '../schemas.js';

export default class Cancel extends DxCommand<CancelOutput> {
  static override summary = 'cancel a wave: stop every job it runs';
  static override description = `Takes the wave over (fencing and signalling a running orchestrator), stops every running job
with dx-runner stop, and marks unfinished items CANCELLED.
${exitCodesHelp([0, 1])}`;

  static override examples = ['<%= config.bin %> cancel --wave-id wave-42'];
  static override flags = { 'wave-id': waveIdFlag({ description: 'wave id', required: true }) };

  async run(): Promise<CancelOutput> {
    const { flags } = await this.parse(Cancel);
    await this.core();
    const { cancelWave } = await import('../orchestrator/lifecycle.js');
    const { waveDeps } = await import('../deps.js');
    const r = await cancelWave(flags['wave-id'], waveDeps({ silent: true, create: false }));
    this.out(
      `cancelled wave ${r.wave.wave_id}: ${r.cancelled.length} item(s) cancelled, ${r.stopped.length} job(s) stopped${r.stopped.length ? ` (${r.stopped.join(', ')})` : ''}`,
    );
    return { wave_id: r.wave.wave_id, status: r.wave.status, cancelled_items: r.cancelled, stopped_jobs: r.stopped };
  }
}
