import { DxError, ExitCode } from '../errors.js';
import type { ProviderPolicy } from '../policy/schema.js';

export interface ModelChoice {
  model: string;
  source: 'flag' | 'profile' | 'env' | 'canonical' | 'provider_default';
  /** Models the policy lets this provider run (empty: the policy does not restrict it). */
  allowed: string[];
  /** Stand-ins when `model` is unavailable: its aliases, plus (without strict_gate) the rest of the allowlist. */
  candidates: string[];
  strict: boolean;
}

export function reasonPrefix(providerId: string): string {
  return providerId.replace(/-/g, '_');
}

function unsupported(providerId: string, message: string): DxError {
  return new DxError(message, {
    exitCode: ExitCode.modelUnavailable,
    reasonCode: `${reasonPrefix(providerId)}_model_unsupported`,
    nextAction: 'request_a_model_on_the_policy_allowlist',
  });
}

function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Which model a job of this provider runs: --model (or the profile's), else the provider's model env
 * override (OPENCODE_MODEL …), else the canonical model. Env overrides may narrow the allowlist and
 * pick within it, never escape it.
 */
export function resolveModel(
  providerId: string,
  section: ProviderPolicy | undefined,
  options: { requested?: string; requestedFrom?: 'flag' | 'profile'; env: NodeJS.ProcessEnv },
): ModelChoice {
  const policyAllowed = section?.allowed_models ?? [];
  let allowed = policyAllowed;
  const envAllowedName = section?.allowed_models_env;
  const envAllowed = envAllowedName ? list(options.env[envAllowedName]) : undefined;
  if (envAllowed && envAllowedName) {
    const outside = policyAllowed.length > 0 ? envAllowed.filter((m) => !policyAllowed.includes(m)) : [];
    if (outside.length > 0)
      throw unsupported(
        providerId,
        `${envAllowedName} lists ${outside.join(', ')}, outside the policy allowlist (${policyAllowed.join(', ')})`,
      );
    allowed = envAllowed;
  }
  const isAllowed = (m: string) => allowed.length === 0 || allowed.includes(m);
  const canonicalEnv = section?.canonical_model_env ? options.env[section.canonical_model_env]?.trim() : undefined;
  if (canonicalEnv && !isAllowed(canonicalEnv)) {
    throw unsupported(
      providerId,
      `${section!.canonical_model_env}=${canonicalEnv} is not on the ${providerId} allowlist (${allowed.join(', ')})`,
    );
  }
  const canonical = canonicalEnv || section?.canonical_model;
  const fromEnv = section?.model_env ? options.env[section.model_env]?.trim() : undefined;
  let model: string | undefined;
  let source: ModelChoice['source'];
  if (options.requested) {
    model = options.requested;
    source = options.requestedFrom ?? 'flag';
  } else if (fromEnv) {
    model = fromEnv;
    source = 'env';
  } else {
    model = canonical;
    source = 'canonical';
  }
  if (!model)
    return { model: '', source: 'provider_default', allowed, candidates: [], strict: Boolean(section?.strict_gate) };
  if (!isAllowed(model)) {
    const via = source === 'env' ? `${section!.model_env}=${model}` : `model ${model}`;
    throw unsupported(providerId, `${via} is not allowed for ${providerId} (allowed: ${allowed.join(', ')})`);
  }
  const strict = Boolean(section?.strict_gate);
  const aliases = model === section?.canonical_model ? (section?.canonical_aliases ?? []).filter(isAllowed) : [];
  const others = strict ? [] : allowed.filter((m) => m !== model && !aliases.includes(m));
  return { model, source, allowed, candidates: [...aliases, ...others], strict };
}
