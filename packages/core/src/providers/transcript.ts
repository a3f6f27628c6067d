import type { ProviderRuntime } from './contract.js';
import { providerKit } from './kit.js';

/**
 * What a job's tools ran and printed, read from its log by the provider's own `toolTranscript`
 * (one text per tool run, in order), or undefined when the provider has no reader. A plugin's
 * reader is not trusted to keep its contract: a text that is not a string is none, and what it
 * read before it threw stands.
 */
export function readToolTranscript(runtime: ProviderRuntime | undefined, log: string): string[] | undefined {
  if (!runtime?.toolTranscript) return undefined;
  const texts: string[] = [];
  try {
    const read = runtime.toolTranscript(providerKit);
    for (const line of log.split('\n')) {
      const text: unknown = read(line);
      if (typeof text === 'string' && text !== '') texts.push(text);
    }
  } catch {
    // keep what was read
  }
  return texts;
}
