/**
 * Recorded jobs for the benchmarks, synthesised as the state files the watcher leaves behind (meta,
 * heartbeat, outcome), so a 1,000-job state dir takes a second to build.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const core = await import(path.join(root, 'packages/core/dist/index.js'));

/** A state dir with n finished jobs, written the way the watcher writes them (every field its outcome carries). */
export function populate(stateDir, n, worktree) {
  const dir = path.join(stateDir, 'fake');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(stateDir, 0o700);
  const now = Date.now();
  for (let i = 0; i < n; i++) {
    const beads = `bd-bench-${i}`;
    const started = new Date(now - 600_000 + i).toISOString();
    const base = { beads, provider: 'fake', run_instance: `20261124000000-fake-${i}`, run_id: '20261124000000' };
    fs.writeFileSync(
      path.join(dir, `${beads}.meta`),
      core.serializeKv({
        ...base,
        started_at: started,
        retries: 0,
        host: 'bench',
        cwd: worktree,
        worktree,
        prompt_copy: path.join(dir, `${beads}.prompt`),
        runtime_module: 'file:///x.js',
        watcher_pid: 1,
        watcher_start_ticks: 1,
        max_runtime_minutes: 120,
        no_mutation_timeout_minutes: 30,
        stall_minutes: 20,
        startup_grace_sec: 300,
      }),
      { mode: 0o600 },
    );
    fs.writeFileSync(
      path.join(dir, `${beads}.heartbeat`),
      core.serializeKv({
        run_instance: base.run_instance,
        watcher_pid: 1,
        watcher_start_ticks: 1,
        launched_at: started,
        updated_at: started,
        events: 12,
        tool_calls: 3,
        messages: 4,
        provider_retries: 0,
        writes_refused: 0,
        mutations: 2,
      }),
      { mode: 0o600 },
    );
    fs.writeFileSync(
      path.join(dir, `${beads}.outcome`),
      core.serializeKv({
        ...base,
        exit_code: 0,
        state: 'success',
        reason_code: 'process_exit',
        completed_at: new Date(now - 1000 + i).toISOString(),
        duration_sec: 599,
        retries: 0,
        selected_model: 'fake-model-1',
        fallback_reason: 'none',
        host: 'bench',
        cwd: worktree,
        worktree,
        provider_switch_from: 'none',
        started_at: started,
        mutations: 2,
        changed_files: ['a.txt', 'b.txt'],
        commits: [],
        start_head: '0000000000000000000000000000000000000000',
        end_head: '1111111111111111111111111111111111111111',
        log_bytes: 4096,
        log_bytes_total: 4096,
        log_bytes_dropped: 0,
        watcher_cpu_ms: 180,
        events: 12,
        tool_calls: 3,
        provider_retries: 0,
        tokens_input: 1200,
        tokens_output: 300,
        cost_usd: 0.0042,
        final_text: 'done: wrote a.txt and b.txt',
        writes_refused: 0,
      }),
      { mode: 0o600 },
    );
  }
}

/** Rewrite one recorded job's outcome (atomically, as the watcher does) with another end state. */
export function rewriteOutcome(stateDir, beads, fields) {
  const file = path.join(stateDir, 'fake', `${beads}.outcome`);
  const record = core.parseKv(fs.readFileSync(file, 'utf8'), file);
  core.writeFileAtomic(file, core.serializeKv({ ...record, ...fields }));
}
