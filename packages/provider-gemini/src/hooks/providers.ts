import type { Hook } from '@oclif/core';
import type {} from '@dx/core';
import { PROVIDER_ID } from '../id.js';

/** Registers the gemini provider; core's services are injected, so @dx/core is a type-only dependency. */
const hook: Hook<'dx:providers'> = async function (options) {
  // a command that needs other providers does not pay for loading this one
  if (options.wanted && !options.wanted.includes(PROVIDER_ID)) return undefined;
  const { createGeminiProvider } = await import('../provider.js');
  return createGeminiProvider(options.services);
};

export default hook;
