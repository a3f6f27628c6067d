import type { MetaRecord } from '../jobs/records.js';
import type { JobPaths } from '../state/layout.js';

/**
 * Test-only (not built into dist): a job's meta record with every required field, as `start` writes
 * it for a fake job in `worktree`; a test names only what it is about.
 */
export function sampleMeta(
  paths: JobPaths,
  worktree: string,
  fields: Pick<MetaRecord, 'started_at'> & Partial<MetaRecord>,
): MetaRecord {
  return {
    beads: paths.beads,
    provider: paths.provider,
    run_instance: `run-${paths.beads}`,
    run_id: 'r1',
    retries: 0,
    host: 'h',
    cwd: worktree,
    worktree,
    prompt_copy: paths.prompt,
    runtime_module: 'file:///x.js',
    max_runtime_minutes: 120,
    no_mutation_timeout_minutes: 30,
    stall_minutes: 20,
    startup_grace_sec: 300,
    ...fields,
  };
}
