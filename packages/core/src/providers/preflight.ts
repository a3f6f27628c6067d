import fs from 'node:fs';
import { removeTree } from '../state/atomic.js';
import os from 'node:os';
import path from 'node:path';
import { DxError, ExitCode, isDxError } from '../errors.js';
import { nextActionFor, nextActionText } from '../health/next-actions.js';
import type { Policy } from '../policy/schema.js';
import type { PreflightChainOutput, PreflightOutput } from '../schemas/outputs.js';
import { Redactor } from '../secrets/redact.js';
import type { PreflightContext, ProviderPreflight } from './contract.js';
import { resolveModel } from './models.js';
import type { ProviderRegistry } from './registry.js';

export interface PreflightOptions {
  registry: ProviderRegistry;
  policy: Policy;
  env?: NodeJS.ProcessEnv;
  /** --model, checked against the allowlist like any request. */
  model?: string;
  worktree?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

function exitCodeFor(failureClass: string | undefined): number {
  return failureClass === 'model_unavailable' ? ExitCode.modelUnavailable : ExitCode.preflightFailed;
}

function failed(
  provider: string,
  reasonCode: string,
  failureClass: string | null,
  error: string,
  exitCode: number,
  model: string | null = null,
): PreflightOutput {
  return {
    provider,
    ok: false,
    exit_code: exitCode,
    model,
    model_source: null,
    binary: { path: null, version: null },
    checks: [{ name: 'provider', status: 'fail', detail: error, reason_code: reasonCode, failure_class: failureClass }],
    reason_code: reasonCode,
    failure_class: failureClass,
    error,
    ...nextAction(nextActionFor(reasonCode, failureClass ?? undefined)),
  };
}

function nextAction(id: string | null): { next_action: string | null; next_action_text: string | null } {
  return { next_action: id, next_action_text: nextActionText(id) };
}

const CHECK_STATUSES: readonly string[] = ['ok', 'warn', 'fail', 'skip'];

/** A plugin's answer is not trusted blindly: a check with a status outside the contract fails, saying so. */
function withValidChecks(result: ProviderPreflight, providerId: string): ProviderPreflight {
  const checks = (Array.isArray(result?.checks) ? result.checks : []).map((c) =>
    CHECK_STATUSES.includes(c.status)
      ? c
      : {
          ...c,
          status: 'fail' as const,
          detail: `provider ${providerId} answered status "${String(c.status)}" (expected ok|warn|fail|skip): ${c.detail}`,
          failureClass: c.failureClass ?? 'crashed',
        },
  );
  return { ...result, ok: Boolean(result?.ok), checks };
}

/**
 * Preflight (or probe) one provider: resolve its model under the policy, run the provider's own
 * checks in a private scratch HOME, and turn the first failing check into reason, class, exit code.
 */
export async function preflightProvider(
  providerId: string,
  options: PreflightOptions,
  mode: 'preflight' | 'probe' = 'preflight',
): Promise<PreflightOutput> {
  const env = options.env ?? process.env;
  const redactor = Redactor.fromEnv([env]);
  if (!options.registry.has(providerId)) {
    const known = options.registry.ids();
    return failed(
      providerId,
      'provider_not_found',
      null,
      `unknown provider "${providerId}" (available: ${known.join(', ') || 'none installed'})`,
      ExitCode.providerNotFound,
    );
  }
  const provider = options.registry.get(providerId);
  const section = options.policy.providers[providerId];
  let choice;
  try {
    choice = resolveModel(providerId, section, { requested: options.model, env });
  } catch (err) {
    if (!isDxError(err)) throw err;
    return failed(providerId, err.reasonCode, 'model_unavailable', err.message, err.exitCode, options.model ?? null);
  }
  const run = mode === 'probe' ? provider.probeModel?.bind(provider) : provider.preflight?.bind(provider);
  if (!run) {
    return {
      provider: providerId,
      ok: true,
      exit_code: 0,
      model: choice.model || null,
      model_source: choice.source,
      binary: { path: null, version: null },
      checks: [
        {
          name: mode,
          status: 'skip',
          detail: `provider ${providerId} has no ${mode}`,
          reason_code: null,
          failure_class: null,
        },
      ],
      reason_code: null,
      failure_class: null,
      error: null,
      ...nextAction(null),
    };
  }
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), `dx-${mode}-${providerId}-`));
  let result: ProviderPreflight;
  try {
    const context: PreflightContext = {
      env,
      policy: section,
      model: choice.model,
      candidates: choice.candidates,
      worktree: options.worktree,
      workDir,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    };
    result = await run(context);
    result = withValidChecks(result, providerId);
  } catch (err) {
    result = {
      ok: false,
      checks: [
        { name: mode, status: 'fail', detail: `${mode} crashed: ${(err as Error).message}`, failureClass: 'crashed' },
      ],
    };
  } finally {
    removeTree(workDir);
  }
  const failing = result.checks.find((c) => c.status === 'fail');
  const ok = result.ok && !failing;
  const reasonCode = failing ? (failing.reasonCode ?? `${providerId.replace(/-/g, '_')}_${mode}_failed`) : null;
  const failureClass = failing?.failureClass ?? null;
  return redactor.redactDeep({
    provider: providerId,
    ok,
    exit_code: ok ? 0 : exitCodeFor(failureClass ?? undefined),
    model: result.model ?? (choice.model || null),
    model_source: choice.source,
    binary: { path: result.binary?.path ?? null, version: result.binary?.version ?? null },
    checks: result.checks.map((c) => ({
      name: c.name,
      status: c.status,
      detail: c.detail,
      reason_code: c.reasonCode ?? null,
      failure_class: c.failureClass ?? null,
    })),
    reason_code: reasonCode,
    failure_class: failureClass,
    error: failing ? `${failing.name}: ${failing.detail}` : null,
    ...nextAction(reasonCode ? nextActionFor(reasonCode, failureClass ?? undefined) : null),
  });
}

/**
 * Seed 003's provider selection: preflight each provider of the chain in order, keep every
 * result, select the first available one, and name the primary (first) failure when falling back.
 * An entry `provider:model` checks that provider with that model (gemini:gemini-2.5-pro,
 * gemini:gemini-2.0-flash tries two Gemini models in turn).
 */
/**
 * A chain is checked only up to the first provider that passes, so a typo further down would be
 * found the night the fallback is needed: every entry is looked up now (no preflight run).
 */
function chainWarnings(chain: string[], registry: ProviderRegistry): string[] {
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const entry of chain) {
    const colon = entry.indexOf(':');
    const id = colon > 0 ? entry.slice(0, colon) : entry;
    if (seen.has(entry)) warnings.push(`${entry} is named more than once in the chain`);
    else if (!registry.has(id))
      warnings.push(
        `${id} is not an installed provider (available: ${registry.ids().join(', ') || 'none'}): a fallback to it would fail`,
      );
    seen.add(entry);
  }
  return warnings;
}

export async function preflightChain(options: PreflightOptions & { chain?: string[] }): Promise<PreflightChainOutput> {
  const chain = options.chain ?? options.policy.fallbackChain;
  if (chain.length === 0) {
    throw new DxError('no providers to check: the policy has no fallback_chain and no --provider was given', {
      exitCode: ExitCode.preflightFailed,
      reasonCode: 'no_fallback_chain',
      nextAction: 'add_fallback_chain_to_the_policy_or_pass_--provider',
    });
  }
  const results: PreflightOutput[] = [];
  let selected: PreflightOutput | undefined;
  for (const entry of chain) {
    const colon = entry.indexOf(':');
    const [id, model] = colon > 0 ? [entry.slice(0, colon), entry.slice(colon + 1)] : [entry, options.model];
    const result = await preflightProvider(id, { ...options, model });
    results.push(result);
    if (result.ok) {
      selected = result;
      break;
    }
  }
  const first = results[0];
  const primary = selected && selected === first ? null : first;
  return {
    ok: Boolean(selected),
    selected_provider: selected?.provider ?? null,
    selected_model: selected?.model ?? null,
    primary_failure: primary
      ? {
          provider: primary.provider,
          reason_code: primary.reason_code ?? 'unknown',
          error: primary.error ?? 'unavailable',
        }
      : null,
    results,
    warnings: chainWarnings(chain, options.registry),
  };
}
