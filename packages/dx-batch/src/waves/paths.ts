import path from 'node:path';
import { openPrivateRoot, toolStatePath } from '@dx/core';
import { assertWaveId } from './wave-id.js';

/** DX_BATCH_DIR, default `${XDG_STATE_HOME:-~/.local/state}/dx-batch`. */
export function batchRootPath(env: NodeJS.ProcessEnv = process.env): string {
  return toolStatePath('dx-batch', 'DX_BATCH_DIR', env);
}

export function openBatchRoot(env: NodeJS.ProcessEnv, create: boolean): string | undefined {
  return openPrivateRoot(batchRootPath(env), create, 'dx-batch root');
}

export interface WavePaths {
  root: string;
  waveId: string;
  dir: string;
  state: string;
  lock: string;
  prompts: string;
  leases: string;
  itemLeases: string;
  ledgers: string;
  jobs: string;
}

/** The artifact layout: waves/, leases/, ledgers/, jobs/ (prompts now live per wave). */
export function wavePaths(root: string, waveId: string): WavePaths {
  assertWaveId(waveId);
  return {
    root,
    waveId,
    dir: path.join(root, 'waves', waveId),
    state: path.join(root, 'waves', waveId, 'wave_state.json'),
    lock: path.join(root, 'waves', waveId, 'orchestrator.lock'),
    prompts: path.join(root, 'waves', waveId, 'prompts'),
    leases: path.join(root, 'leases', waveId),
    itemLeases: path.join(root, 'leases', 'items'),
    ledgers: path.join(root, 'ledgers', waveId),
    jobs: path.join(root, 'jobs', waveId),
  };
}
