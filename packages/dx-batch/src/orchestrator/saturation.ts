import fs from 'node:fs';
import path from 'node:path';
import { isAlive, type DxRunnerClient } from '@dx/core';
import { holderIsLive, readHolder } from '../leases/wave-lock.js';
import type { WavePaths } from '../waves/paths.js';

/**
 * Live dispatch/runner processes on this machine: every running dx-runner job (agent and watcher)
 * and every other live dx-batch orchestrator. Counted from dx-runner's state and the wave locks,
 * never by process name.
 */
export async function countLiveProcesses(
  client: DxRunnerClient,
  paths: WavePaths,
  ttlMinutes: number,
): Promise<number> {
  const pids = new Set<number>();
  for (const job of await client.jobsWithProcesses()) {
    if (job.pid) pids.add(job.pid);
    if (job.watcher_pid) pids.add(job.watcher_pid);
  }
  let waves: string[];
  try {
    waves = fs.readdirSync(path.join(paths.root, 'waves'));
  } catch {
    waves = [];
  }
  for (const wave of waves) {
    if (wave === paths.waveId) continue;
    const holder = readHolder(path.join(paths.root, 'waves', wave, 'orchestrator.lock'));
    if (
      holder &&
      holderIsLive(holder, ttlMinutes) &&
      isAlive({ pid: holder.pid, startTicks: holder.start_ticks, bootId: holder.boot_id })
    )
      pids.add(holder.pid);
  }
  return pids.size;
}
