import type { Hook } from '@oclif/core';
import type {} from '@dx/core';

/** Registers the cc-glm provider; core's services are injected, so @dx/core is a type-only dependency. */
const hook: Hook<'dx:providers'> = async function (options) {
  const { createCcGlmProvider } = await import('../provider.js');
  return createCcGlmProvider(options.services);
};

export default hook;
