import { Command, Errors, Flags } from '@oclif/core';
import type { ErrorOutput, Policy, ProviderRegistry, Redactor } from '@dx/core';
import { nextActionText } from '@dx/core/next-actions';
import { stringifyJsonSafe, visibleText } from '@dx/core/output';
import { USAGE_EXIT_CODE, usageMessage, usageReason } from './usage.js';

type CommandError = Error & {
  exitCode?: number;
  reasonCode?: string;
  nextAction?: string;
  details?: Record<string, unknown>;
  oclif?: { exit?: number };
};

/** oclif's own parse errors (bad flag value, unknown flag, missing argument): not a DxError. */
function isUsageError(err: CommandError): boolean {
  if (typeof err.reasonCode === 'string') return false;
  // oclif's CLIParseError (not exported) carries the parse it failed; flag parsers prefix "Parsing --x"
  return ('parse' in err && 'showHelp' in err) || /^Parsing --/.test(err.message ?? '');
}

type Core = typeof import('@dx/core');

/** Appended to every command's description so `--help` documents the codes it can return. */
export { exitCodesHelp } from '@dx/core/exit-codes';

export const policyFlag = Flags.string({
  description: 'policy YAML merged over the default policy (else DX_POLICY_FILE, else ~/.config/dx-runner/policy.yaml)',
  helpValue: '<file>',
});

/**
 * Commands stay thin: parse flags, call @dx/core, render a table for humans or return the typed
 * result for --json. @dx/core is imported lazily so --help and --version stay fast.
 */
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

  /** Human output, with any secret value scrubbed and control characters made visible. */
  protected out(text: string): void {
    this.log(visibleText(this.coreModule ? this.redactor().redact(text) : text));
  }

  /** One JSON document on stdout: redacted, every control character escaped, never colourised. */
  protected override logJson(json: unknown): void {
    // a command that streamed its documents line by line (watchdog) has nothing left to print
    if (this.jsonStreamed) return;
    this.writeJson(json);
  }

  private writeJson(json: unknown, indent?: number): void {
    process.stdout.write(`${stringifyJsonSafe(this.coreModule ? this.redactor().redactDeep(json) : json, indent)}\n`);
  }

  private jsonStreamed = false;

  /** One JSON document per line, for commands that run until stopped; the command then returns no final document. */
  protected streamJson(json: unknown): void {
    this.jsonStreamed = true;
    this.writeJson(json, 0);
  }

  private readonly interruptHandlers: Array<() => void> = [];

  /** Run `handler` on SIGINT/SIGTERM while this command runs; the handlers are removed when it ends. */
  protected onInterrupt(handler: () => void): void {
    process.once('SIGINT', handler);
    process.once('SIGTERM', handler);
    this.interruptHandlers.push(handler);
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    for (const handler of this.interruptHandlers.splice(0)) {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    }
    return super.finally(err);
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
    for (const e of registry.errors)
      process.stderr.write(`Warning: provider plugin ${e.plugin} skipped: ${e.message}\n`);
    return registry;
  }

  protected override toErrorJson(err: unknown): ErrorOutput {
    const e = err as CommandError;
    if (isUsageError(e)) {
      const message = usageMessage(e.message ?? String(err));
      const next = 'see_--help';
      return {
        error: {
          message,
          exit_code: USAGE_EXIT_CODE,
          reason_code: usageReason(message),
          next_action: next,
          next_action_text: nextActionText(next),
        },
      };
    }
    return {
      error: {
        message: /^Parsing --/.test(e.message ?? '') ? usageMessage(e.message ?? '') : (e.message ?? String(err)),
        exit_code: e.exitCode ?? e.oclif?.exit ?? 1,
        reason_code: e.reasonCode ?? 'internal_error',
        next_action: e.nextAction ?? null,
        next_action_text: nextActionText(e.nextAction),
        ...(e.details ? { details: e.details } : {}),
      },
    };
  }

  protected override async catch(err: CommandError): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const expected = typeof err.reasonCode === 'string' && typeof err.exitCode === 'number';
    const usage = isUsageError(err);
    const code = usage ? USAGE_EXIT_CODE : (err.exitCode ?? err.oclif?.exit ?? 1);
    process.exitCode = code;
    if (this.jsonEnabled()) {
      this.writeJson(this.toErrorJson(err));
      return undefined;
    }
    if (usage) {
      const message = usageMessage(err.message);
      process.stderr.write(`Error: ${visibleText(message)}; see --help (reason_code=${usageReason(message)})\n`);
      throw new Errors.ExitError(code);
    }
    if (!expected) return super.catch(err);
    // a flag whose own parser refused the value (e.g. --beads): oclif prefixed the message with "Parsing --x"
    const text = /^Parsing --/.test(err.message) ? usageMessage(err.message) : err.message;
    const message = visibleText(this.coreModule ? this.redactor().redact(text) : text);
    process.stderr.write(`Error: ${message} (reason_code=${err.reasonCode})\n`);
    throw new Errors.ExitError(code);
  }

  abstract override run(): Promise<T>;
}
