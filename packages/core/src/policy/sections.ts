import { z } from '../zod.js';
import type { Policy } from './schema.js';

/**
 * A top-level section of the policy file owned by another tool of the toolkit (dx-batch's `batch`,
 * nightly-dispatch's `nightly`, dx-dispatch's `dispatch`). The tool registers it when it loads the
 * policy: core merges and reads the YAML, and reports the section's errors with file, line and
 * column like its own; the tool owns the schema, the defaults (one set, here) and what they mean.
 */
export interface PolicySection<T> {
  readonly key: string;
  /** The section as a user may write it: a strict object whose fields are all optional. */
  readonly schema: z.ZodType;
  /** The section's defaults, as the YAML would write them. */
  readonly defaults: Record<string, unknown>;
  /** The typed settings, from the merged section (defaults under the user's file). */
  resolve(section: Record<string, unknown>, policy: Policy): T;
}

/** Sections of tools that dx-runner itself does not read: it keeps them as they are. */
export const TOOLKIT_SECTIONS = ['batch', 'dispatch', 'nightly'] as const;

/** The policy file's schema: core's sections, the registered ones validated, the other tools' kept. */
export function policySchemaWith(core: z.ZodObject, sections: readonly PolicySection<unknown>[]): z.ZodObject {
  const shape: Record<string, z.ZodType> = {};
  for (const key of TOOLKIT_SECTIONS) shape[key] = z.record(z.string(), z.unknown()).optional();
  for (const section of sections) shape[section.key] = section.schema.optional();
  return core.extend(shape);
}

/** A registered section's settings; asking for one the loader was not given is a programming error. */
export function sectionOf<T>(policy: Policy, section: PolicySection<T>): T {
  if (!policy.sections.has(section.key)) throw new Error(`the policy was loaded without the ${section.key} section`);
  return policy.sections.get(section.key) as T;
}
