import type { YamlFileReader } from '../policy/yaml.js';
import type {
  FailureVocabulary,
  LaunchRequest,
  PreflightCheck,
  ProbedBinary,
  Provider,
  ProviderKit,
  ProviderPreflight,
  ProviderRuntime,
} from './contract.js';

export const PROVIDER_HOOK = 'dx:providers' as const;
export const CORE_API_VERSION = 1 as const;

export interface StreamingResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string[];
  stderr: string[];
  /** onLine asked to stop (e.g. the provider's parser saw a fatal error). */
  stopped: boolean;
  timedOut: boolean;
  errorCode?: string;
}

export interface RunToolResult {
  /** 128 + the signal's number when a signal ended it. */
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** The signal that ended it (its timeout's SIGKILL included). */
  signal?: string;
  errorCode?: string;
}

export interface BinaryCheckOptions {
  /** The executable's name or path (found on `env.PATH`). */
  name: string;
  env: NodeJS.ProcessEnv;
  /** The environment `--version` runs in (a scratch HOME: some CLIs write their config even then). */
  runEnv: Record<string, string>;
  timeoutMs: number;
  /** How to install it, shown when it is missing, e.g. `npm install -g opencode-ai@1.18.33`. */
  installHint: string;
  /** The provider's reason code for a missing or broken binary, e.g. `opencode_binary_missing`. */
  reasonCode: string;
}

/** One model probe: the CLI's command line for a one-word answer, and how the provider reads it. */
export interface ModelProbe {
  binary: ProbedBinary & { path: string };
  model: string | undefined;
  args: string[];
  env: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  /** The provider's parser (with these options) reads the output; its classifyFailure names a failure. */
  runtime: ProviderRuntime;
  parserOptions?: Record<string, unknown>;
  /** Names a probe that got no answer in time. */
  vocabulary: FailureVocabulary;
}

export interface BinaryCheck {
  check: PreflightCheck;
  path?: string;
  version?: string;
}

/** Services core injects into provider plugins, so a plugin needs @dx/core for types only. */
export interface CoreServices {
  runTool(
    command: string,
    args: string[],
    options?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
  ): Promise<RunToolResult>;
  /** The agent environment core recommends: the caller's env with HOME-like dirs and TMPDIR isolated. */
  childEnv(request: LaunchRequest, extra?: Record<string, string | undefined>): Record<string, string>;
  /**
   * Run a CLI in its own process group with stdin closed, feeding each output line to onLine; the
   * whole group is killed when onLine returns true or the timeout passes. Bounded in time.
   */
  runStreaming(
    command: string,
    args: string[],
    options: {
      cwd?: string;
      env: Record<string, string>;
      timeoutMs: number;
      onLine?: (line: string, stream: 'stdout' | 'stderr') => boolean | void;
    },
  ): Promise<StreamingResult>;
  /**
   * Run a model probe: its output read as a job's is, stopped at the first fatal event. Answered (a
   * successful final event), timed out (in the provider's words), or failed as the provider
   * classifies the run; bounded by the probe's timeout.
   */
  runModelProbe(probe: ModelProbe): Promise<ProviderPreflight>;
  /** Absolute path of an executable found on env.PATH (or the path itself if it contains a slash). */
  findExecutable(name: string, env: NodeJS.ProcessEnv): string | undefined;
  /** A provider CLI found on PATH and answering `--version`: preflight's `binary` check. */
  checkBinary(options: BinaryCheckOptions): Promise<BinaryCheck>;
  /** Read a YAML file validated by a zod schema; errors name the file, line and column (`<kind>_invalid`). */
  readYamlFile: YamlFileReader;
  /**
   * Read a file an operator names (a credential file) as core reads its own: never blocking, at most
   * `maxBytes`; a pipe (`<(pass show …)`) is read to its end once per process and its text kept, as
   * it gives it once. Answers the text, or the few words an error line says about the file.
   */
  readOperatorFile: (file: string, maxBytes: number) => { text: string } | { problem: string };
  kit: ProviderKit;
}

// A type alias, not an interface: it must be assignable to oclif's Record<string, unknown> hook options.
export type ProviderHookOptions = {
  coreApiVersion: typeof CORE_API_VERSION;
  services: CoreServices;
  /**
   * The provider ids the command needs, when it knows them (`start --provider X`): a plugin that
   * provides none of them may return nothing without loading its provider module. Absent: every
   * plugin registers. A plugin that ignores it registers as always.
   */
  wanted?: readonly string[];
};
export type ProviderHookReturn = Provider | Provider[] | undefined;

declare module '@oclif/core/interfaces' {
  interface Hooks {
    'dx:providers': { options: ProviderHookOptions; return: ProviderHookReturn };
  }
}
