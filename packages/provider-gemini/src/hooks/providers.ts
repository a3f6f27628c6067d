import type { Hook } from '@oclif/core';
import type {} from '@dx/core';

/** Registers the gemini provider; core's services are injected, so @dx/core is a type-only dependency. */
const hook: Hook<'dx:providers'> = async function (options) {
  const { createGeminiProvider } = await import('../provider.js');
  return createGeminiProvider(options.services);
};

export default hook;
