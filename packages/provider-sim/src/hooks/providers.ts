import type { Hook } from '@oclif/core';
import type {} from '@dx/core';
import { ALT_PROVIDER_ID, PROVIDER_ID } from '../id.js';

/** Registers the simulator; core's services are injected, so @dx/core is a type-only dependency. */
const hook: Hook<'dx:providers'> = async function (options) {
  // a command that needs other providers does not pay for loading this one
  const { wanted } = options;
  if (wanted && !wanted.some((id) => id === PROVIDER_ID || id === ALT_PROVIDER_ID)) return undefined;
  const { createSimProviders } = await import('../provider.js');
  return createSimProviders(options.services);
};

export default hook;
