/**
 * What a provider plugin supplies (ADR adapter contract, SPEC §4). Core never names a concrete
 * provider: it launches whatever LaunchSpec it is given, feeds the output through the provider's
 * parser, and asks the provider to classify a failure.
 */
import type { ProviderPolicy } from '../policy/schema.js';

export const FAILURE_CLASSES = [
  'rate_limited',
  'auth_missing',
  'auth_invalid',
  'model_unavailable',
  'network',
  'server_error',
  'binary_missing',
  'untrusted_workspace',
  'permission_denied',
  'turn_limit',
  'timeout',
  'crashed',
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

export type ProgressActivity = 'init' | 'message' | 'tool_call' | 'tool_result' | 'step' | 'thinking';

/** One thing the agent CLI reported, normalised. Only these count as progress (not raw log bytes). */
export type AgentEvent =
  | { kind: 'progress'; activity: ProgressActivity; detail?: string }
  | { kind: 'retry'; failureClass?: FailureClass; attempt?: number; retryAfterSec?: number; resetAt?: string; detail?: string }
  | { kind: 'usage'; mode: 'add' | 'total'; inputTokens?: number; outputTokens?: number; costUsd?: number }
  | { kind: 'final'; ok: boolean; text?: string; detail?: string }
  | { kind: 'writes_refused'; detail?: string }
  | { kind: 'error'; detail: string };

export interface EventParser {
  /** Called once per output line; returns the events that line carries (often none). */
  parse(line: string, stream: 'stdout' | 'stderr'): AgentEvent[];
}

export interface AgentExit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the binary could not be started at all (e.g. ENOENT). */
  spawnErrorCode?: string;
  spawnErrorMessage?: string;
  /** Notable events in order (retry, final, error, writes_refused); progress events are left out. */
  events: AgentEvent[];
  stdoutTail: string[];
  stderrTail: string[];
}

export interface FailureClassification {
  /** The seed's reason code, e.g. `opencode_rate_limited`. */
  reasonCode: string;
  failureClass: FailureClass;
  retryAfterSec?: number;
  resetAt?: string;
  /** One line for humans. */
  summary?: string;
  /** What the operator should do; defaults to core's hint for the failure class. */
  nextAction?: string;
}

/** The part of a provider the watcher process loads; keep its module's imports light. */
export interface ProviderRuntime {
  readonly id: string;
  createParser(): EventParser;
  classifyFailure(exit: AgentExit): FailureClassification;
}

export interface LaunchRequest {
  beads: string;
  prompt: string;
  /** Private copy of the prompt under the state root (0600). */
  promptFile: string;
  worktree: string;
  model?: string;
  /** Per-job directory to use as HOME / config dir; removed when the job ends. */
  jobHome: string;
  /** Per-job TMPDIR; removed when the job ends. */
  jobTmp: string;
  env: NodeJS.ProcessEnv;
  policy?: ProviderPolicy;
}

export interface LaunchFile {
  /** Absolute path, inside jobHome. */
  path: string;
  content: string;
  mode?: number;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  /** The complete environment of the agent process. */
  env: Record<string, string>;
  cwd: string;
  /** Feed this file on stdin instead of /dev/null. */
  stdinFile?: string;
  /** Config files to write into jobHome before launch. */
  files?: LaunchFile[];
  /** Env var names whose values are secrets beyond the ones core recognises by name. */
  secretEnvNames?: string[];
  /** Secret values that live in no env var (e.g. read from a token file). */
  secretValues?: string[];
  selectedModel?: string;
  fallbackReason?: string;
}

export interface Provider extends ProviderRuntime {
  readonly displayName: string;
  /** URL of a module whose `provider` export is this provider's ProviderRuntime (loaded by the watcher). */
  readonly runtimeModule: string;
  buildLaunch(request: LaunchRequest): LaunchSpec | Promise<LaunchSpec>;
}
