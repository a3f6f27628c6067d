import type { Hook } from '@oclif/core';
import type {} from '@dx/core';

/** Registers the simulator; core's services are injected, so @dx/core is a type-only dependency. */
const hook: Hook<'dx:providers'> = async function (options) {
  const { createSimProviders } = await import('../provider.js');
  return createSimProviders(options.services);
};

export default hook;
