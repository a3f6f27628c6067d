import type { LaunchRequest, Provider } from './contract.js';

export const PROVIDER_HOOK = 'dx:providers' as const;
export const CORE_API_VERSION = 1 as const;

export interface RunToolResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  errorCode?: string;
}

/** Services core injects into provider plugins, so a plugin needs @dx/core for types only. */
export interface CoreServices {
  runTool(command: string, args: string[], options?: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunToolResult>;
  /** The agent environment core recommends: the caller's env with HOME-like dirs and TMPDIR isolated. */
  childEnv(request: LaunchRequest, extra?: Record<string, string | undefined>): Record<string, string>;
}

// A type alias, not an interface: it must be assignable to oclif's Record<string, unknown> hook options.
export type ProviderHookOptions = { coreApiVersion: typeof CORE_API_VERSION; services: CoreServices };
export type ProviderHookReturn = Provider | Provider[] | undefined;

declare module '@oclif/core/interfaces' {
  interface Hooks {
    'dx:providers': { options: ProviderHookOptions; return: ProviderHookReturn };
  }
}
