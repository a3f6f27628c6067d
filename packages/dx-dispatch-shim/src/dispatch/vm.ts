import type { Policy } from '@dx/core';

/**
 * A legacy VM name to a provider, from the policy's `dispatch` section (shipped with the legacy
 * tool's mapping: cc-glm/local → cc-glm, gemini → gemini, every other host → default_provider).
 */
export function providerForVm(vm: string, dispatch: Policy['dispatch']): string | undefined {
  return dispatch.hosts[vm] ?? dispatch.hosts[vm.toLowerCase()] ?? dispatch.defaultProvider ?? undefined;
}
