/**
 * What a provider plugin supplies. Core never names a concrete
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
  /** The agent printed past limits.max_output_mb and was stopped. */
  'output_flood',
  /** The file system holding the job's state filled up under the job. */
  'disk_full',
  /** The prompt (with what the agent gathered) is longer than the model's context window. */
  'context_exceeded',
] as const;
export type FailureClass = (typeof FAILURE_CLASSES)[number];

export type ProgressActivity = 'init' | 'message' | 'tool_call' | 'tool_result' | 'step' | 'thinking';

/** One thing the agent CLI reported, normalised. Only these count as progress (not raw log bytes). */
export type AgentEvent =
  | {
      kind: 'progress';
      activity: ProgressActivity;
      detail?: string;
      /**
       * A tool call's arguments as stable text (`kit.callInput`): the same call, the same text. The
       * watcher tells an agent repeating one call from one at work by it.
       */
      input?: string;
    }
  | {
      kind: 'retry';
      failureClass?: FailureClass;
      attempt?: number;
      retryAfterSec?: number;
      resetAt?: string;
      detail?: string;
    }
  | { kind: 'usage'; mode: 'add' | 'total'; inputTokens?: number; outputTokens?: number; costUsd?: number }
  | { kind: 'final'; ok: boolean; text?: string; detail?: string }
  | { kind: 'writes_refused'; detail?: string }
  | { kind: 'error'; detail: string }
  /**
   * The CLI hit an error it will only keep retrying (bad key, missing model, exhausted quota) or
   * exceeded the adapter's retry bound: the watcher ends it now and lets classifyFailure decide.
   */
  | { kind: 'fatal'; failureClass: FailureClass; detail: string; retryAfterSec?: number; resetAt?: string };

/** Called once per log line, in order; the text of the tool run that line ends, or undefined. */
export type ToolTranscriptReader = (line: string) => string | undefined;

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
  /** The provider's reason code, e.g. `opencode_rate_limited`. */
  reasonCode: string;
  failureClass: FailureClass;
  retryAfterSec?: number;
  resetAt?: string;
  /** One line for humans. */
  summary?: string;
  /** What the operator should do; defaults to core's hint for the failure class. */
  nextAction?: string;
}

/** A provider's words for its failures: its reason-code prefix, the suffixes it spells its own way, its next actions. */
export interface FailureVocabulary {
  /** `opencode` → `opencode_rate_limited`. */
  prefix: string;
  reasonOverrides?: Partial<Record<FailureClass, string>>;
  nextActions?: Partial<Record<FailureClass, string>>;
}

/**
 * Generic helpers core hands to providers (so a plugin needs @dx/core for types only). They know
 * HTTP and text conventions, never a particular vendor.
 */
export interface ProviderKit {
  /** The normalized class of an HTTP status (401/403 auth, 404 model, 429 rate, 5xx server). */
  httpStatusClass(status: number): FailureClass | undefined;
  /** "… reset at 2026-11-24 12:00:00" → ISO time, read in the given UTC offset (minutes). */
  findResetAt(text: string, utcOffsetMinutes?: number): string | undefined;
  /** JSON.parse that returns undefined instead of throwing. */
  parseJson(text: string): unknown;
  /** A field of a CLI's JSON event as text: strings as they are, objects as JSON, null/undefined as `fallback`. */
  text(value: unknown, fallback?: string): string;
  /** First line, trimmed and cut to `max` characters. */
  firstLine(text: string, max?: number): string;
  /** A tool call's arguments as stable text (object keys sorted), for AgentEvent `input`. */
  callInput(value: unknown): string | undefined;
  /** `${prefix}_${suffix}` for a failure class, with per-provider overrides of the suffix. */
  reasonCode(prefix: string, failureClass: FailureClass, overrides?: Partial<Record<FailureClass, string>>): string;
  /**
   * A failure in a provider's words: its reason code and next action for the class, the summary cut
   * to one line; `extra` overrides any of them (a provider's own reason code for a special case).
   */
  classified(
    vocabulary: FailureVocabulary,
    failureClass: FailureClass,
    summary: string,
    extra?: Partial<FailureClassification>,
  ): FailureClassification;
  /** A model probe that got its answer: one ok `probe` check naming the model and how long it took. */
  probeAnswered(binary: ProbedBinary, model: string | undefined, startedAtMs: number): ProviderPreflight;
  /** A model probe that failed: one failed `probe` check carrying the classification. */
  probeFailed(binary: ProbedBinary, model: string | undefined, failure: FailureClassification): ProviderPreflight;
}

/** The CLI a probe ran (as preflight reports it). */
export interface ProbedBinary {
  path?: string;
  version?: string;
}

/** The part of a provider the watcher process loads; keep its module's imports light. */
export interface ProviderRuntime {
  readonly id: string;
  /** `options` are the LaunchSpec's runtimeOptions (e.g. the retry bound). */
  createParser(options: Record<string, unknown>, kit: ProviderKit): EventParser;
  classifyFailure(exit: AgentExit, kit: ProviderKit): FailureClassification;
  /**
   * A reader of what tools did, fed the job log's lines in order: for a line that ends a tool run,
   * the shell command the agent ran (when it did run) and the output the tool returned — never the
   * agent's own words (its messages, its final answer, a prompt the CLI echoes). The evidence gate
   * checks "tests passed" and "lint passed" claims against this alone; a provider without it is
   * judged on its whole log.
   */
  toolTranscript?(kit: ProviderKit): ToolTranscriptReader;
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
  /** The scenario a simulator plays (`start --scenario`); only providers with `simulator: true` get one. */
  scenario?: string;
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
  /** Serializable options handed to createParser in the watcher (e.g. { maxRetries: 3 }). */
  runtimeOptions?: Record<string, unknown>;
}

export interface PreflightContext {
  env: NodeJS.ProcessEnv;
  policy?: ProviderPolicy;
  /** The model resolved from --model / env / policy, already checked against the allowlist. */
  model: string;
  /** Models that may stand in for `model` when it is unavailable: its aliases, plus (without strict_gate) the rest of the allowlist. */
  candidates: string[];
  worktree?: string;
  /** A private scratch dir to use as HOME for the checks; removed afterwards. */
  workDir: string;
  timeoutMs: number;
}

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface PreflightCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  reasonCode?: string;
  failureClass?: FailureClass;
}

export interface ProviderPreflight {
  ok: boolean;
  binary?: { path?: string; version?: string };
  /** The model the provider would run (may be an alias of the requested one). */
  model?: string;
  checks: PreflightCheck[];
}

export interface Provider extends ProviderRuntime {
  readonly displayName: string;
  /** URL of a module whose `provider` export is this provider's ProviderRuntime (loaded by the watcher). */
  readonly runtimeModule: string;
  /**
   * A simulated agent, not a real CLI: it plays `--scenario`s, needs no prompt, and is never chosen
   * unless named (a fallback chain or profile must list it).
   */
  readonly simulator?: boolean;
  /**
   * A simulator's stand-in for a real provider, under the real id, playing `scenario` in its launches
   * and its preflight (DX_RUNNER_SIMULATE: rehearse a night or a wave without any real agent).
   */
  impersonate?(real: { id: string; displayName: string }, scenario: string): Provider;
  buildLaunch(request: LaunchRequest): LaunchSpec | Promise<LaunchSpec>;
  /** Cheap, offline checks: binary and version, credentials present, model available. */
  preflight?(context: PreflightContext): Promise<ProviderPreflight>;
  /** One tiny real request with `context.model`. */
  probeModel?(context: PreflightContext): Promise<ProviderPreflight>;
}
