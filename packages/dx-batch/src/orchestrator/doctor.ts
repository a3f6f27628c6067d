import fs from 'node:fs';
import path from 'node:path';
import { DxRunnerError, isDxError, type DxRunnerClient } from '@dx/core';
import { staleAttemptLeases } from '../leases/item-leases.js';
import { holderIsLive, readHolder } from '../leases/wave-lock.js';
import type { DoctorOutput } from '../schemas.js';
import type { WavePaths } from '../waves/paths.js';
import { loadWave, type WaveState } from '../waves/state.js';
import { countLiveProcesses } from './saturation.js';

type Issue = DoctorOutput['issues'][number];

/**
 * `dx-batch doctor`: what stands between this wave and a clean run. Critical issues stop a wave;
 * warnings want an operator; info is what the doctor tidied itself (stale job records).
 */
export async function diagnoseWave(paths: WavePaths, client: DxRunnerClient): Promise<DoctorOutput> {
  const issues: Issue[] = [];
  const recommendations = new Set<string>();
  const out = (status: string | null): DoctorOutput => ({
    wave_id: paths.waveId,
    checked_at: new Date().toISOString(),
    status,
    issues,
    recommendations: [...recommendations],
  });
  let state: WaveState;
  try {
    state = loadWave(paths);
  } catch (err) {
    const reason = isDxError(err) ? err.reasonCode : 'wave_state_unreadable';
    issues.push({
      type: reason === 'wave_not_found' ? 'missing_state' : 'wave_state_corrupt',
      severity: 'critical',
      message: (err as Error).message,
    });
    recommendations.add(
      reason === 'wave_not_found'
        ? 'Wave may not exist or was deleted: check --wave-id'
        : 'Inspect or restore the file the message names (wave_state.json or its journal)',
    );
    return out(null);
  }
  try {
    const live = await countLiveProcesses(client, paths, state.config.lease_ttl_minutes);
    if (live > state.config.exec_process_cap) {
      issues.push({
        type: 'exec_saturation',
        severity: 'critical',
        message: `live_processes=${live} cap=${state.config.exec_process_cap}`,
      });
      recommendations.add('Run dx-runner prune, then dx-batch resume');
    }
  } catch (err) {
    issues.push({ type: 'dx_runner_unavailable', severity: 'critical', message: (err as Error).message });
    recommendations.add('Install dx-runner or set DX_RUNNER_BIN');
    return out(state.status);
  }
  const holder = readHolder(paths.lock);
  // `start` takes the lock before it writes a pending wave: pending with no live holder is a start
  // that was interrupted before the wave ran, and nobody will run it unless told to
  if (
    (state.status === 'running' || state.status === 'pending') &&
    !holderIsLive(holder, state.config.lease_ttl_minutes)
  ) {
    issues.push({
      type: 'orchestrator_not_running',
      severity: 'warning',
      message: `the wave is marked ${state.status}${state.status === 'pending' ? ' (its start was interrupted before it ran)' : ''} but no live orchestrator holds it${holder ? ` (last holder pid ${holder.pid})` : ''}`,
    });
    recommendations.add(`Run 'dx-batch resume --wave-id ${paths.waveId}' to recover`);
  }
  const stale = staleAttemptLeases(paths, state.token);
  if (stale.length > 0) {
    issues.push({
      type: 'stale_lease',
      severity: 'warning',
      message: `${stale.length} attempt lease(s) left by an earlier orchestrator: ${stale.join(', ')}`,
    });
    recommendations.add(`Run 'dx-batch resume --wave-id ${paths.waveId}' to take them over`);
  }
  for (const item of state.items) {
    if ((item.status !== 'IMPLEMENTING' && item.status !== 'REVIEWING') || !item.job_beads) continue;
    try {
      await client.check(item.job_beads);
    } catch (err) {
      if (err instanceof DxRunnerError && err.reasonCode === 'job_not_found') {
        issues.push({
          type: 'missing_job',
          severity: 'warning',
          message: `${item.beads_id} is ${item.status} but dx-runner has no job ${item.job_beads} (resume starts it)`,
        });
      }
    }
  }
  let records: string[];
  try {
    records = fs.readdirSync(paths.jobs);
  } catch {
    records = [];
  }
  const activeJobs = new Set(
    state.items
      .filter((i) => i.job_beads && (i.status === 'IMPLEMENTING' || i.status === 'REVIEWING'))
      .map((i) => `${i.job_beads}.pid`),
  );
  const pruned = records.filter((r) => !activeJobs.has(r));
  for (const r of pruned) fs.rmSync(path.join(paths.jobs, r), { force: true });
  if (pruned.length > 0)
    issues.push({
      type: 'stale_job_records_pruned',
      severity: 'info',
      message: `removed ${pruned.length} record(s) of jobs the wave no longer runs`,
    });
  return out(state.status);
}
