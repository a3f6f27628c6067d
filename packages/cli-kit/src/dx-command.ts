import { Command, Errors, Flags } from '@oclif/core';
import type { ErrorOutput, Policy, ProviderRegistry, Redactor } from '@dx/core';

type Core = typeof import('@dx/core');

/** Appended to every command's description so `--help` documents the codes it can return. */
export function exitCodesHelp(codes: number[]): string {
  const names: Record<number, string> = {
    0: 'success',
    1: 'general error (bad input file, corrupt state, job not found, cap reached)',
    2: 'job stalled, or a usage error (missing/invalid flag or beads id)',
    3: 'job exited with an error, or is blocked',
    20: 'provider not found',
    21: 'preflight failed (provider binary or credentials missing)',
    22: 'permission denied (worktree gate, unsafe state root)',
    23: 'no-op detected',
    24: 'beads gate failed',
    25: 'model unavailable',
  };
  return `\nEXIT CODES\n${codes.map((c) => `  ${String(c).padStart(2)}  ${names[c] ?? ''}`).join('\n')}`;
}

export const policyFlag = Flags.string({
  description: 'policy YAML merged over the default policy (else DX_POLICY_FILE, else ~/.config/dx-runner/policy.yaml)',
  helpValue: '<file>',
});

/**
 * Commands stay thin: parse flags, call @dx/core, render a table for humans or return the typed
 * result for --json. @dx/core is imported lazily so --help and --version stay fast.
 */
/** oclif's flag and argument errors span several lines; operators' scripts want one. */
function usageMessage(message: string): string {
  return message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(See more help|The following error occurred)/.test(l))
    .join(': ');
}

export abstract class DxCommand<T> extends Command {
  static override enableJsonFlag = true;
  private redactorCache?: Redactor;
  protected coreModule?: Core;

  protected async core(): Promise<Core> {
    this.coreModule ??= await import('@dx/core');
    return this.coreModule;
  }

  protected redactor(): Redactor {
    if (!this.redactorCache) {
      if (!this.coreModule) throw new Error('core not loaded');
      this.redactorCache = this.coreModule.Redactor.fromEnv();
    }
    return this.redactorCache;
  }

  /** Human output, with any secret value scrubbed. */
  protected out(text: string): void {
    this.log(this.coreModule ? this.redactor().redact(text) : text);
  }

  protected override logJson(json: unknown): void {
    super.logJson(this.coreModule ? this.redactor().redactDeep(json) : json);
  }

  protected async stateRoot(create: boolean): Promise<string | undefined> {
    const core = await this.core();
    return core.openStateRoot({ create });
  }

  protected async policy(file?: string): Promise<Policy> {
    const core = await this.core();
    return core.loadPolicy({ file });
  }

  protected async providers(): Promise<ProviderRegistry> {
    const core = await this.core();
    const registry = await core.ProviderRegistry.fromConfig(this.config);
    // one plain line each, also under --json (stdout stays pure JSON)
    for (const e of registry.errors) process.stderr.write(`Warning: provider plugin ${e.plugin} skipped: ${e.message}\n`);
    return registry;
  }

  protected override toErrorJson(err: unknown): ErrorOutput {
    const e = err as { message?: string; exitCode?: number; reasonCode?: string; nextAction?: string; details?: Record<string, unknown>; oclif?: { exit?: number } };
    return {
      error: {
        message: e.oclif?.exit === 2 && !e.reasonCode ? usageMessage(e.message ?? String(err)) : (e.message ?? String(err)),
        exit_code: e.exitCode ?? e.oclif?.exit ?? 1,
        reason_code: e.reasonCode ?? (e.oclif?.exit === 2 ? 'usage_error' : 'internal_error'),
        next_action: e.nextAction ?? null,
        ...(e.details ? { details: e.details } : {}),
      },
    };
  }

  protected override async catch(err: Error & { exitCode?: number; reasonCode?: string; nextAction?: string; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const expected = typeof err.reasonCode === 'string' && typeof err.exitCode === 'number';
    const code = err.exitCode ?? err.oclif?.exit ?? 1;
    process.exitCode = code;
    if (this.jsonEnabled()) {
      this.logJson(this.toErrorJson(err));
      return undefined;
    }
    if (!expected && err.oclif?.exit === 2) {
      // oclif's flag/argument errors span several lines; an operator's script wants one
      process.stderr.write(`Error: ${usageMessage(err.message)}; see --help (reason_code=usage_error)\n`);
      throw new Errors.ExitError(2);
    }
    if (!expected) return super.catch(err);
    const message = this.coreModule ? this.redactor().redact(err.message) : err.message;
    process.stderr.write(`Error: ${message} (reason_code=${err.reasonCode})\n`);
    throw new Errors.ExitError(code);
  }

  abstract override run(): Promise<T>;
}
