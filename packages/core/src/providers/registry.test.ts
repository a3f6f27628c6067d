import type { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import type { Provider } from './contract.js';
import type { ProviderHookOptions } from './hook.js';
import { ProviderRegistry } from './registry.js';

const provider = (id: string, extra: Partial<Provider> = {}) =>
  ({
    id,
    displayName: id,
    runtimeModule: `/dev/null/${id}.js`,
    buildLaunch: () => undefined,
    createParser: () => undefined,
    classifyFailure: () => undefined,
    ...extra,
  }) as unknown as Provider;

/** Plugins as oclif runs their hooks: each registers its ids unless `wanted` names none of them. */
function configOf(plugins: Record<string, Provider[]>, loaded: string[]): Config {
  const manifest = (name: string) => ({
    name,
    hooks: { 'dx:providers': [{ target: './hook.js' }] },
    pjson: { dxRunner: { provider: { id: name, displayName: name, coreApiVersion: 1 } } },
  });
  return {
    getPluginsList: () => Object.keys(plugins).map(manifest),
    runHook: async (_event: string, options: ProviderHookOptions) => ({
      successes: Object.entries(plugins).map(([name, providers]) => {
        const wanted = options.wanted;
        if (wanted && !providers.some((p) => wanted.includes(p.id))) return { plugin: { name }, result: undefined };
        loaded.push(name);
        return { plugin: { name }, result: providers };
      }),
      failures: [],
    }),
  } as unknown as Config;
}

describe('ProviderRegistry.fromConfig', () => {
  const plugins = {
    opencode: [provider('opencode')],
    sim: [provider('sim', { simulator: true, impersonate: (p) => provider(p.id) }), provider('sim-alt')],
  };

  it('lets the plugins a command does not need skip loading their providers', async () => {
    const loaded: string[] = [];
    const registry = await ProviderRegistry.fromConfig(configOf(plugins, loaded), undefined, {}, ['sim-alt']);
    expect(loaded).toEqual(['sim']);
    expect(registry.get('sim-alt').id).toBe('sim-alt');
  });

  it('loads every plugin when a wanted id is not there, so the error lists what is installed', async () => {
    const loaded: string[] = [];
    const registry = await ProviderRegistry.fromConfig(configOf(plugins, loaded), undefined, {}, ['nope']);
    expect(loaded).toEqual(['opencode', 'sim']);
    expect(() => registry.get('nope')).toThrow('unknown provider "nope" (available: opencode, sim, sim-alt)');
  });

  it('loads every plugin under DX_RUNNER_SIMULATE, whose simulator stands in for the others', async () => {
    const loaded: string[] = [];
    const env = { DX_RUNNER_SIMULATE: 'opencode=rate-limited' };
    const registry = await ProviderRegistry.fromConfig(configOf(plugins, loaded), undefined, env, ['opencode']);
    expect(loaded).toEqual(['opencode', 'sim']);
    expect(registry.get('opencode')).not.toBe(plugins.opencode[0]);
  });
});
