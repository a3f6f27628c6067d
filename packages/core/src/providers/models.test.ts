import { describe, expect, it } from 'vitest';
import type { DxError } from '../errors.js';
import type { ProviderPolicy } from '../policy/schema.js';
import { resolveModel } from './models.js';

const opencode: ProviderPolicy = {
  canonical_model: 'zhipuai-coding-plan/glm-5',
  canonical_aliases: ['zai-coding-plan/glm-5', 'zhipuai/glm-5'],
  allowed_models: ['zhipuai-coding-plan/glm-5', 'zai-coding-plan/glm-5', 'zhipuai/glm-5'],
  strict_gate: true,
  model_env: 'OPENCODE_MODEL',
  canonical_model_env: 'OPENCODE_CANONICAL_MODEL',
  allowed_models_env: 'OPENCODE_ALLOWED_MODELS',
};

function refusal(fn: () => unknown): DxError {
  try {
    fn();
  } catch (err) {
    return err as DxError;
  }
  throw new Error('expected a refusal');
}

describe('resolveModel', () => {
  it('uses flag, then env override, then canonical; the canonical brings its aliases as stand-ins', () => {
    expect(resolveModel('opencode', opencode, { env: {} })).toMatchObject({
      model: 'zhipuai-coding-plan/glm-5',
      source: 'canonical',
      candidates: ['zai-coding-plan/glm-5', 'zhipuai/glm-5'],
      strict: true,
    });
    expect(resolveModel('opencode', opencode, { env: { OPENCODE_MODEL: 'zhipuai/glm-5' } })).toMatchObject({
      model: 'zhipuai/glm-5',
      source: 'env',
      candidates: [],
    });
    expect(
      resolveModel('opencode', opencode, {
        requested: 'zai-coding-plan/glm-5',
        env: { OPENCODE_MODEL: 'zhipuai/glm-5' },
      }),
    ).toMatchObject({ model: 'zai-coding-plan/glm-5', source: 'flag' });
  });

  it('refuses anything outside the allowlist with exit 25 and <provider>_model_unsupported', () => {
    const e = refusal(() => resolveModel('opencode', opencode, { env: { OPENCODE_MODEL: 'zai-coding-plan/glm-4.7' } }));
    expect(e).toMatchObject({ exitCode: 25, reasonCode: 'opencode_model_unsupported' });
    expect(
      refusal(() => resolveModel('cc-glm', { allowed_models: ['glm-5'] }, { requested: 'claude-opus', env: {} }))
        .reasonCode,
    ).toBe('cc_glm_model_unsupported');
  });

  it('lets the allowlist env var narrow, never widen', () => {
    expect(
      resolveModel('opencode', opencode, {
        env: { OPENCODE_ALLOWED_MODELS: 'zhipuai/glm-5', OPENCODE_CANONICAL_MODEL: 'zhipuai/glm-5' },
      }).allowed,
    ).toEqual(['zhipuai/glm-5']);
    expect(
      refusal(() => resolveModel('opencode', opencode, { env: { OPENCODE_ALLOWED_MODELS: 'x/y' } })).message,
    ).toContain('outside the policy allowlist');
  });

  it('without strict_gate, the rest of the allowlist may stand in', () => {
    const loose: ProviderPolicy = {
      canonical_model: 'glm-5',
      allowed_models: ['glm-5', 'glm-5.1', 'glm-4.7'],
      strict_gate: false,
    };
    expect(resolveModel('cc-glm', loose, { env: {} }).candidates).toEqual(['glm-5.1', 'glm-4.7']);
  });

  it('does not restrict a provider the policy does not know', () => {
    expect(resolveModel('extra', undefined, { requested: 'any-model', env: {} })).toMatchObject({
      model: 'any-model',
      allowed: [],
    });
    expect(resolveModel('extra', undefined, { env: {} })).toMatchObject({ model: '', source: 'provider_default' });
  });
});
