import type { Config } from '@oclif/core';
import { z } from '../zod.js';
import { DxError, ExitCode } from '../errors.js';
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

  /**
   * DX_RUNNER_SIMULATE=`id=scenario,…`: each named provider is replaced, under its own id, by the
   * simulator playing that scenario (its jobs' model reads `sim:<scenario>`), so a rehearsal runs
   * the real chain, fallback and alert paths without any real agent.
   */
  simulate(spec: string | undefined): void {
    if (!spec?.trim()) return;
    const simulator = [...this.byId.values()].find((p) => p.simulator && typeof p.impersonate === 'function');
    const refuse = (why: string) =>
      new DxError(`DX_RUNNER_SIMULATE=${spec}: ${why}`, {
        exitCode: ExitCode.general,
        reasonCode: 'invalid_env',
        nextAction: 'fix_DX_RUNNER_SIMULATE',
      });
    if (!simulator) throw refuse('no simulator provider is installed');
    for (const pair of spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const m = /^([a-z][a-z0-9-]*)=(\S+)$/.exec(pair);
      if (!m) throw refuse(`"${pair}" is not provider=scenario`);
      const real = this.byId.get(m[1]);
      if (!real) throw refuse(`unknown provider "${m[1]}" (available: ${this.ids().join(', ')})`);
      this.byId.set(real.id, simulator.impersonate!({ id: real.id, displayName: real.displayName }, m[2]));
    }
  }

  /**
   * Runs every provider plugin's hook. With `wanted` (the ids a command needs), a plugin providing
   * none of them may skip loading its provider: `start --provider X` does not import the other
   * providers' modules. Every plugin registers when a wanted id is missing (so the error lists what
   * is there) and when DX_RUNNER_SIMULATE puts the simulator in the place of other providers.
   */
  static async fromConfig(
    config: Config,
    services: CoreServices = coreServices,
    env: NodeJS.ProcessEnv = process.env,
    wanted?: readonly string[],
  ): Promise<ProviderRegistry> {
    const only = env.DX_RUNNER_SIMULATE?.trim() ? undefined : wanted;
    const registry = await ProviderRegistry.runHooks(config, services, only);
    if (only && !only.every((id) => registry.has(id))) return ProviderRegistry.fromConfig(config, services, env);
    registry.simulate(env.DX_RUNNER_SIMULATE);
    return registry;
  }

  private static async runHooks(
    config: Config,
    services: CoreServices,
    wanted: readonly string[] | undefined,
  ): Promise<ProviderRegistry> {
    const registry = new ProviderRegistry();
    const refused = new Map<string, string>();
    for (const plugin of config.getPluginsList()) {
      if (!plugin.hooks[PROVIDER_HOOK]) continue;
      const problem = manifestProblem(plugin.pjson);
      if (problem) refused.set(plugin.name, problem);
    }
    for (const [plugin, message] of refused) registry.errors.push({ plugin, message });
    const result = await config.runHook(PROVIDER_HOOK, {
      coreApiVersion: CORE_API_VERSION,
      services,
      ...(wanted ? { wanted } : {}),
    });
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
