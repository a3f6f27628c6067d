import path from 'node:path';
import { DX_RUNNER_BIN } from './locate.js';

/**
 * What this dx-runner knows that a sibling running it in-process needs: its version and its providers
 * (the plugins oclif would load for `dx-runner`: the bundled ones and any the user installed or
 * linked). Loaded lazily; a sibling asks once per process.
 */
export async function dxRunnerProviders(env: NodeJS.ProcessEnv = process.env) {
  const [{ Config }, core] = await Promise.all([import('@oclif/core'), import('@dx/core')]);
  const config = await Config.load({ root: path.dirname(path.dirname(DX_RUNNER_BIN)) });
  return {
    version: config.version,
    registry: await core.ProviderRegistry.fromConfig(config, core.coreServices, env),
  };
}
