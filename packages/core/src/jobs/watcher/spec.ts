import type { LaunchSpec } from '../../providers/contract.js';
import type { JobPaths } from '../../state/layout.js';

/** Everything `start`/`restart` hands the watcher over its stdin pipe (never written to disk: env holds tokens). */
export interface WatcherSpec {
  paths: JobPaths;
  beads: string;
  provider: string;
  runInstance: string;
  runId: string;
  runtimeModule: string;
  launch: LaunchSpec;
  worktree: string;
  limits: WatcherLimits;
  outcomeBase: {
    retries: number;
    selectedModel: string;
    fallbackReason: string;
    host: string;
    cwd: string;
    providerSwitchFrom: string[];
    startedAt: string;
  };
  keepHome: boolean;
  logLevel: string;
  /** A read-only task: exiting 0 without changes is success (read_only_ok). */
  expectNoChanges: boolean;
}

export interface WatcherLimits {
  /** Job log and watcher log cap (head + rolling tail), limits.max_log_mb. */
  logCapBytes: number;
  /** Agent output past this ends the job (output_flood), limits.max_output_mb. */
  outputCapBytes: number;
  maxRuntimeMs: number;
  finalExitGraceMs: number;
  killGraceMs: number;
  mutationPollMs: number;
  heartbeatIntervalMs: number;
}

/** The one line the watcher sends back once the agent is running (or could not be started). */
export type WatcherAck =
  | { ok: true; agentPid: number; agentStartTicks: number; watcherPid: number }
  | { ok: false; reasonCode: string; failureClass: string; message: string; exitCode: number };
