import fs from 'node:fs';
import path from 'node:path';
import { bytesUnder, removeTree, type RetentionOptions } from '@dx/core';
import type { WaveHosts } from '../fleet/hosts.js';
import { waveOwner } from '../orchestrator/orchestrator.js';
import type { BatchPruneOutput } from '../schemas.js';
import { wavePaths, type WavePaths } from './paths.js';
import { hostsOfWave, loadWave } from './state.js';

const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/**
 * Remove finished waves (completed, failed, cancelled) whose end is older than the limit, beyond the
 * `keepLast` most recent: the wave's state, lock and prompts, its ledgers, leases and job records.
 * An unfinished wave is never removed. dx-runner's hold on a wave's jobs is released first, on every
 * host its jobs ran on that the policy's fleet still names: a wave whose hold could not be released
 * stays (the next prune tries again), since without the wave nothing would ever release it and
 * retention would keep those jobs for good.
 */
export async function pruneWaves(root: string, options: RetentionOptions, hosts: WaveHosts): Promise<BatchPruneOutput> {
  const result: BatchPruneOutput = {
    dry_run: options.dryRun,
    older_than_sec: Math.round(options.olderThanMs / 1000),
    keep_last: options.keepLast,
    removed: [],
    kept: { unfinished: 0, recent: 0, unreadable: 0, hold_not_released: 0 },
    bytes_freed: 0,
    not_removed: [],
  };
  const now = options.now ?? Date.now();
  let ids: string[];
  try {
    ids = fs.readdirSync(path.join(root, 'waves'));
  } catch {
    return result;
  }
  const finished: Array<{ id: string; status: string; completedAt: string | null; time: number; hosts: string[] }> = [];
  for (const id of ids) {
    let wave;
    try {
      wave = loadWave(wavePaths(root, id));
    } catch {
      result.kept.unreadable++;
      continue;
    }
    if (!FINISHED.has(wave.status)) {
      result.kept.unfinished++;
      continue;
    }
    const time = Date.parse(wave.completed_at ?? wave.updated_at) || 0;
    finished.push({ id, status: wave.status, completedAt: wave.completed_at, time, hosts: hostsOfWave(wave) });
  }
  finished.sort((a, b) => b.time - a.time);
  for (const [index, wave] of finished.entries()) {
    if (index < options.keepLast || now - wave.time < options.olderThanMs) {
      result.kept.recent++;
      continue;
    }
    const paths = wavePaths(root, wave.id);
    const dirs = [paths.ledgers, paths.leases, paths.jobs, paths.dir];
    const bytes = dirs.reduce((n, d) => n + bytesUnder(d), 0);
    if (!options.dryRun) {
      try {
        // on every host its jobs ran on that the fleet still names
        for (const host of wave.hosts.filter((h) => hosts.knows(h)))
          await hosts.client(host).release(waveOwner(wave.id));
      } catch {
        result.kept.hold_not_released++;
        continue;
      }
      try {
        removeWaveFiles(paths);
      } catch (err) {
        // one wave the file system will not let go (files another user made: a dx-batch once run
        // with sudo) must not keep every other wave: its state goes last, so the next prune retries
        result.not_removed.push({ wave_id: wave.id, error: (err as Error).message });
        continue;
      }
    }
    result.removed.push({ wave_id: wave.id, status: wave.status, completed_at: wave.completedAt, bytes });
    result.bytes_freed += bytes;
  }
  return result;
}

/**
 * The wave's state goes last, so a prune killed half-way leaves a wave the next prune lists (by its
 * state) and finishes removing, never ledgers or job records of a wave nothing lists any more.
 */
function removeWaveFiles(paths: WavePaths): void {
  for (const dir of [paths.ledgers, paths.leases, paths.jobs]) removeTree(dir);
  let names: string[] = [];
  try {
    names = fs.readdirSync(paths.dir);
  } catch {
    // already gone
  }
  for (const name of names.filter((n) => n !== path.basename(paths.state))) removeTree(path.join(paths.dir, name));
  removeTree(paths.dir);
}
