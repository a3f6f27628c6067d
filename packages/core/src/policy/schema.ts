import { z } from 'zod';

/**
 * Every field is optional so a user policy can override any subset; the shipped default policy
 * supplies the rest. Objects are strict so a misspelt key is reported, not silently ignored.
 */
export const ProviderPolicySchema = z
  .object({
    max_parallel: z.number().int().positive().optional(),
  })
  .strict();

export const PolicySchema = z
  .object({
    version: z.literal(1).optional(),
    worktrees: z
      .object({
        allowed_prefixes: z.array(z.string().min(1)).optional(),
        forbidden_repos: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    defaults: z
      .object({
        max_parallel: z.number().int().positive().optional(),
      })
      .strict()
      .optional(),
    providers: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), ProviderPolicySchema).optional(),
  })
  .strict();

export type PolicyDocument = z.infer<typeof PolicySchema>;
export type ProviderPolicy = z.infer<typeof ProviderPolicySchema>;

/** The merged, resolved policy every consumer reads. */
export interface Policy {
  readonly sources: string[];
  readonly worktrees: { allowedPrefixes: string[]; forbiddenRepos: string[] };
  readonly defaults: { maxParallel: number };
  readonly providers: Record<string, ProviderPolicy>;
  readonly document: PolicyDocument;
}
