import os from 'node:os';
import { Command, Errors, Flags } from '@oclif/core';
import type { ErrorOutput, Policy, ProviderRegistry, Redactor } from '@dx/core';
import { nextActionText } from '@dx/core/next-actions';
import { stringifyJsonSafe, visibleText } from '@dx/core/output';
import { JSON_CONTRACT_VERSION } from '@dx/core/contract';
import type { PrespawnedWatcher } from '@dx/core/prespawn';
import { argvFlag, replaceFlagValue, withoutFlag } from './host-argv.js';
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
  // oclif's CLIParseError (not exported) carries the parse it failed; flag parsers prefix "Parsing --x";
  // the parser's own plain errors (a flag given without its value, or twice) are named by their text:
  // left as they came, they exited 2, which `check` means as "stalled"
  return ('parse' in err && 'showHelp' in err) || OCLIF_PARSER_MESSAGE.test(err.message ?? '');
}

/** The signals a long command ends in order on (a wave pauses, a wait or a watchdog stops). */
const INTERRUPTS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** The messages of oclif's parser that are not CLIParseErrors (@oclif/core lib/parser/parse.js). */
const OCLIF_PARSER_MESSAGE =
  /^(Parsing --|Flag --\S+ (expects a value|expects one of these values|can only be specified once|can only be read from stdin)|Unexpected flag )/;

type Core = typeof import('@dx/core');
type JobReads = typeof import('@dx/core/job-reads');

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
  private jobReadsModule?: JobReads;

  protected async core(): Promise<Core> {
    this.coreModule ??= await import('@dx/core');
    return this.coreModule;
  }

  /**
   * The read side of jobs only (state root, job views, logs, reports): what check, status, logs and
   * report need, without building the schemas of everything else (~45 ms of a call).
   */
  protected async jobReads(): Promise<JobReads> {
    this.jobReadsModule ??= await import('@dx/core/job-reads');
    return this.jobReadsModule;
  }

  /** Whichever of core's entries is loaded (both carry the one Redactor); none before a command loads core. */
  private get loadedCore(): Pick<JobReads, 'Redactor'> | undefined {
    return this.coreModule ?? this.jobReadsModule;
  }

  protected redactor(): Redactor {
    if (!this.redactorCache) {
      const core = this.loadedCore;
      if (!core) throw new Error('core not loaded');
      this.redactorCache = core.Redactor.fromEnv();
    }
    return this.redactorCache;
  }

  /** Human output, with any secret value scrubbed and control characters made visible. */
  protected out(text: string): void {
    this.log(visibleText(this.loadedCore ? this.redactor().redact(text) : text));
  }

  /** One JSON document on stdout: redacted, every control character escaped, never colourised. */
  protected override logJson(json: unknown): void {
    // a command that streamed its documents line by line (watchdog) has nothing left to print
    if (this.jsonStreamed) return;
    this.writeJson(json);
  }

  /**
   * Every --json document carries the contract version, and the fleet host that answered `--host`
   * (`fleet_host`: a job view's own `host` is the machine's hostname).
   */
  private writeJson(json: unknown, indent?: number): void {
    const stamped =
      typeof json === 'object' && json !== null && !Array.isArray(json)
        ? {
            ...json,
            json_contract_version: JSON_CONTRACT_VERSION,
            ...(this.remoteHost ? { fleet_host: this.remoteHost } : {}),
          }
        : json;
    process.stdout.write(
      `${stringifyJsonSafe(this.loadedCore ? this.redactor().redactDeep(stamped) : stamped, indent)}\n`,
    );
  }

  /** The fleet host this command runs on (`--host NAME`, not local); set before anything runs. */
  private remoteHost?: string;

  /**
   * `--host NAME` on a command that declares it: the host's dx-runner runs the same command (it
   * parses the flags), over SSH; its output comes back with the host named, its exit code as it is.
   * Errors take the same path as local ones (one line, or the JSON error object).
   */
  protected override async _run<R>(): Promise<R> {
    const flags = (this.ctor as { flags?: Record<string, unknown> }).flags ?? {};
    const host = 'host' in flags ? argvFlag(this.argv, 'host') : undefined;
    if (host === undefined || host === 'local') {
      // `--host H --policy P` works the same over every host, local included
      if (host === 'local') this.argv = withoutFlag(withoutFlag(this.argv, 'host'), 'policy' in flags ? '' : 'policy');
      return super._run<R>();
    }
    this.remoteHost = host;
    let err: Error | undefined;
    try {
      await this.runOnHost(host);
    } catch (error) {
      err = error as Error;
      await this.catch(error as CommandError);
    } finally {
      await this.finally(err);
    }
    return undefined as R;
  }

  private async runOnHost(host: string): Promise<void> {
    const core = await this.core();
    // --policy names the local policy (it defines the fleet); the host reads its own
    const policy = core.loadPolicy({ file: argvFlag(this.argv, 'policy') });
    let args = withoutFlag(withoutFlag(this.argv, 'host'), 'policy');
    let stdin: string | undefined;
    // the prompt travels on the SSH channel's stdin: never in an argv, never in a file on either side
    const promptFile = 'prompt-file' in (this.ctor.flags ?? {}) ? argvFlag(args, 'prompt-file') : undefined;
    if (promptFile !== undefined) {
      stdin = core.readPromptFile(promptFile);
      args = replaceFlagValue(args, 'prompt-file', '-');
    }
    const r = await core.runOnHost(policy, host, [...(this.id ?? '').split(':'), ...args], { stdin });
    process.exitCode = r.code;
    if (this.jsonEnabled()) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(r.stdout);
      } catch {
        throw new core.DxError(
          `host ${host}: dx-runner ${this.id} did not print JSON (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n')[0] ?? ''}`,
          { exitCode: r.code || 1, reasonCode: 'dx_runner_bad_output' },
        );
      }
      this.writeJson(parsed);
      return;
    }
    for (const line of r.stdout.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1))
      this.out(`[${host}] ${line}`);
    for (const line of r.stderr.split('\n').filter(Boolean))
      process.stderr.write(`[${host}] ${visibleText(this.redactor().redact(line))}\n`);
  }

  private jsonStreamed = false;

  /** One JSON document per line, for commands that run until stopped; the command then returns no final document. */
  protected streamJson(json: unknown): void {
    this.jsonStreamed = true;
    this.writeJson(json, 0);
  }

  private readonly interruptHandlers: Array<(signal: NodeJS.Signals) => void> = [];

  /**
   * Run `handler` on SIGINT, SIGTERM or SIGHUP while this command runs; removed when it ends. The
   * same signal a second time ends the command at once, by that signal.
   */
  protected onInterrupt(handler: (signal: NodeJS.Signals) => void): void {
    // SIGHUP too: a terminal that closes under a long command (an ssh session dropped under a
    // wave) ended it at once by Node's default, its wave left "running" with nobody running it
    const seen = new Set<NodeJS.Signals>();
    const handle = (signal: NodeJS.Signals) => {
      if (seen.has(signal)) {
        this.removeInterruptHandlers();
        process.kill(process.pid, signal);
        return;
      }
      seen.add(signal);
      if (signal === 'SIGHUP') this.hungUp = true;
      handler(signal);
    };
    // kept (not `once`) until the command ends: execa's signal-exit, listening while a child runs,
    // re-raises a signal it finds no other listener for, and would end the command mid-step
    for (const signal of INTERRUPTS) process.on(signal, handle);
    this.interruptHandlers.push(handle);
  }

  private removeInterruptHandlers(): void {
    for (const handler of this.interruptHandlers.splice(0))
      for (const signal of INTERRUPTS) process.off(signal, handler);
  }

  /** A SIGHUP arrived: the command ends in order, then by the signal itself (see `finally`). */
  private hungUp = false;

  /**
   * Ctrl-C before `watcher` is handed a job ends the command as it always did: nothing runs (a
   * handler installed earlier would hold Ctrl-C while a prompt is read from stdin). From the
   * hand-over on, the job is on record and runs: SIGINT/SIGTERM wait for the command's result, and
   * the function returned, called with the job's id once the result is in, says so on stderr and
   * sets the signal's exit code (130, 143, 129) — never a bare 130 with a job running behind it.
   */
  protected deferInterruptsOnceHandedOver(watcher: PrespawnedWatcher | undefined): (beads: string) => void {
    let interrupted: NodeJS.Signals | undefined;
    if (watcher) watcher.onCommit = () => this.onInterrupt((signal) => (interrupted ??= signal));
    return (beads) => {
      if (!interrupted) return;
      process.stderr.write(
        `Interrupted (${interrupted}) after the launch: ${beads} runs; dx-runner stop ${beads} ends it\n`,
      );
      process.exitCode = 128 + (os.constants.signals[interrupted] ?? 15);
    };
  }

  protected override async finally(err: Error | undefined): Promise<unknown> {
    this.removeInterruptHandlers();
    const result: unknown = await super.finally(err);
    // its terminal is gone: Node's own exit would restore the terminal's modes, fail with EIO and
    // abort (a core dump, "Assertion failed" in ResetStdio); ended by the hang-up itself (its
    // default action, now that no handler is left), as the shell that started it expects
    if (this.hungUp) process.kill(process.pid, 'SIGHUP');
    return result;
  }

  protected async stateRoot(create: boolean): Promise<string | undefined> {
    const reads = await this.jobReads();
    return reads.openStateRoot({ create });
  }

  protected async policy(file?: string): Promise<Policy> {
    const core = await this.core();
    return core.loadPolicy({ file });
  }

  /** The provider plugins' providers; `wanted`: the ids the command needs (the others need not load). */
  protected async providers(wanted?: readonly string[]): Promise<ProviderRegistry> {
    const core = await this.core();
    const registry = await core.ProviderRegistry.fromConfig(this.config, core.coreServices, process.env, wanted);
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

  protected override async catch(caught: CommandError): Promise<unknown> {
    if (caught instanceof Errors.ExitError) throw caught;
    // a full disk is a condition to act on, whichever command met it: one line, disk_full
    const err =
      typeof (caught as { code?: unknown }).code === 'string' && caught.reasonCode === undefined
        ? ((await this.core()).asDiskFull(caught, 'the files it writes') as CommandError)
        : caught;
    const expected = typeof err.reasonCode === 'string' && typeof err.exitCode === 'number';
    const usage = isUsageError(err);
    const code = usage ? USAGE_EXIT_CODE : (err.exitCode ?? err.oclif?.exit ?? 1);
    // a host failure's message names the host already
    if (this.remoteHost && !this.jsonEnabled() && err.details?.host === undefined)
      err.message = `[${this.remoteHost}] ${err.message}`;
    process.exitCode = code;
    // what no command foresaw may hold anything: it is redacted even when core was not loaded yet
    if (!expected && !this.loadedCore) await this.jobReads();
    if (this.jsonEnabled()) {
      this.writeJson(this.toErrorJson(err));
      return undefined;
    }
    if (usage) {
      const message = usageMessage(err.message);
      process.stderr.write(`Error: ${visibleText(message)}; see --help (reason_code=${usageReason(message)})\n`);
      throw new Errors.ExitError(code);
    }
    // an error no command foresaw (a bug, or the system refusing something unforeseen) gets oclif's
    // full report, stack included, only when asked for with DEBUG
    if (!expected && process.env.DEBUG) return super.catch(err);
    // a flag whose own parser refused the value (e.g. --beads): oclif prefixed the message with "Parsing --x"
    const text = /^Parsing --/.test(err.message)
      ? usageMessage(err.message)
      : err.message.replace(/\s*\n\s*/g, ' ').trim();
    const message = visibleText(this.loadedCore ? this.redactor().redact(text) : text);
    process.stderr.write(`Error: ${message} (reason_code=${expected ? err.reasonCode : 'internal_error'})\n`);
    throw new Errors.ExitError(code);
  }

  abstract override run(): Promise<T>;
}
