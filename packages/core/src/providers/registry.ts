import type { Config } from '@oclif/core';
import { z } from 'zod';
import type { Provider } from './contract.js';
import { CORE_API_VERSION, PROVIDER_HOOK, type CoreServices } from './hook.js';
import { coreServices, unknownProviderError } from './services.js';

/** `dxRunner` in a provider plugin's package.json: what it provides and the core API it was built against. */
export const ProviderManifestSchema = z.object({
  provider: z.object({
    id: z.string().regex(/^[a-z][a-z0-9-]*$/),
    displayName: z.string(),
    coreApiVersion: z.number().int(),
  }),
});
export type ProviderManifest = z.infer<typeof ProviderManifestSchema>;

/**
 * Why a plugin's manifest rules it out, or undefined when it may register. A plugin built for another
 * core API would be called with services it does not expect, so it is skipped before it can misbehave.
 */
export function manifestProblem(pjson: Record<string, unknown>): string | undefined {
  const parsed = ProviderManifestSchema.safeParse(pjson.dxRunner);
  if (!parsed.success)
    return 'package.json has no valid "dxRunner.provider" manifest (id, displayName, coreApiVersion)';
  const built = parsed.data.provider.coreApiVersion;
  if (built !== CORE_API_VERSION) {
    return `built for dx-runner core API ${built}, this dx-runner speaks ${CORE_API_VERSION}; skipped (install a matching version)`;
  }
  return undefined;
}

export interface ProviderLoadError {
  plugin: string;
  message: string;
}

const PROVIDER_ID = /^[a-z][a-z0-9-]*$/;

function validProvider(p: unknown): p is Provider {
  if (!p || typeof p !== 'object') return false;
  const c = p as Record<string, unknown>;
  return (
    typeof c.id === 'string' &&
    PROVIDER_ID.test(c.id) &&
    typeof c.runtimeModule === 'string' &&
    typeof c.buildLaunch === 'function' &&
    typeof c.createParser === 'function' &&
    typeof c.classifyFailure === 'function'
  );
}

/** Providers contributed by plugins through the `dx:providers` hook; a broken plugin is reported, not fatal. */
export class ProviderRegistry {
  private readonly byId = new Map<string, Provider>();
  readonly errors: ProviderLoadError[] = [];

  register(provider: Provider, plugin: string): void {
    if (!validProvider(provider)) {
      this.errors.push({
        plugin,
        message:
          'hook returned something that is not a provider (needs id, runtimeModule, buildLaunch, createParser, classifyFailure)',
      });
      return;
    }
    if (this.byId.has(provider.id)) {
      this.errors.push({
        plugin,
        message: `provider id "${provider.id}" is already registered by another plugin; skipped`,
      });
      return;
    }
    this.byId.set(provider.id, provider);
  }

  static async fromConfig(config: Config, services: CoreServices = coreServices): Promise<ProviderRegistry> {
    const registry = new ProviderRegistry();
    const refused = new Map<string, string>();
    for (const plugin of config.getPluginsList()) {
      if (!plugin.hooks[PROVIDER_HOOK]) continue;
      const problem = manifestProblem(plugin.pjson);
      if (problem) refused.set(plugin.name, problem);
    }
    for (const [plugin, message] of refused) registry.errors.push({ plugin, message });
    const result = await config.runHook(PROVIDER_HOOK, { coreApiVersion: CORE_API_VERSION, services });
    for (const success of result.successes) {
      if (refused.has(success.plugin.name)) continue;
      for (const provider of [success.result].flat()) if (provider) registry.register(provider, success.plugin.name);
    }
    for (const failure of result.failures) {
      if (refused.has(failure.plugin.name)) continue;
      registry.errors.push({
        plugin: failure.plugin.name,
        message: failure.error.message.split('\n')[0] ?? 'hook failed',
      });
    }
    return registry;
  }

  ids(): string[] {
    return [...this.byId.keys()].sort();
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): Provider {
    const provider = this.byId.get(id);
    if (!provider) throw unknownProviderError(id, this.ids());
    return provider;
  }
}
