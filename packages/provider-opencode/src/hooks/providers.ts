import type { Hook } from '@oclif/core';
import type {} from '@dx/core';

/** Registers the opencode provider; core's services are injected, so @dx/core is a type-only dependency. */
const hook: Hook<'dx:providers'> = async function (options) {
  const { createOpencodeProvider } = await import('../provider.js');
  return createOpencodeProvider(options.services);
};

export default hook;
