import type { Config } from '@oclif/core';
import { describe, expect, it } from 'vitest';
import { CORE_API_VERSION, coreServices, type Provider } from '@dx/core';
import hook from './providers.js';

type HookArguments = Parameters<typeof hook>[0];

const run = async (wanted?: string[]) =>
  (await hook.call(
    { config: {} as Config } as never,
    {
      coreApiVersion: CORE_API_VERSION,
      services: coreServices,
      ...(wanted ? { wanted } : {}),
    } as HookArguments,
  )) as Provider[] | undefined;

describe("the simulator plugin's hook", () => {
  it('registers both simulated providers, unless the command wants neither', async () => {
    expect((await run())?.map((p) => p.id)).toEqual(['sim', 'sim-alt']);
    expect((await run(['sim-alt']))?.map((p) => p.id)).toEqual(['sim', 'sim-alt']);
    expect(await run(['opencode'])).toBeUndefined();
  });
});
