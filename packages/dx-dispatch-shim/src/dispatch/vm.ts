import { z } from '@dx/core/zod';
import type { PolicySection } from '@dx/core';

/** dx-dispatch's section of the policy file (`dispatch:`): legacy VM/host names mapped to providers. */
export interface DispatchPolicy {
  hosts: Record<string, string>;
  defaultProvider: string | null;
}

/** The legacy tool's mapping: cc-glm/local → cc-glm, gemini → gemini, every other host → opencode. */
export const DISPATCH_DEFAULTS = {
  hosts: { 'cc-glm': 'cc-glm', local: 'cc-glm', gemini: 'gemini' },
  default_provider: 'opencode',
} as const;

const providerId = z.string().regex(/^[a-z][a-z0-9-]*$/);
const DispatchSectionSchema = z
  .object({ hosts: z.record(z.string().min(1), providerId).optional(), default_provider: providerId.optional() })
  .strict();

export const DISPATCH_SECTION: PolicySection<DispatchPolicy> = {
  key: 'dispatch',
  schema: DispatchSectionSchema,
  defaults: DISPATCH_DEFAULTS,
  resolve(raw) {
    const d = DispatchSectionSchema.parse(raw);
    return {
      hosts: { ...DISPATCH_DEFAULTS.hosts, ...d.hosts },
      defaultProvider: d.default_provider ?? DISPATCH_DEFAULTS.default_provider,
    };
  },
};

/** A legacy VM name to a provider: the section's hosts first (a user policy adds hosts key by key), then default_provider. */
export function providerForVm(vm: string, dispatch: DispatchPolicy): string | undefined {
  return dispatch.hosts[vm] ?? dispatch.hosts[vm.toLowerCase()] ?? dispatch.defaultProvider ?? undefined;
}
