import { z } from '@dx/core/zod';
import type { PolicySection } from '@dx/core';
import { BATCH_DEFAULTS } from './policy-defaults.js';

export { BATCH_DEFAULTS };

const providerId = z.string().regex(/^[a-z][a-z0-9-]*$/);

/** dx-batch's section of the policy file (`batch:`): how waves run. */
export interface BatchPolicy {
  retryChain: string[];
  reviewChain: string[];
  maxParallel: number;
  maxRevisions: number;
  execProcessCap: number;
  leaseTtlMinutes: number;
  pollIntervalSec: number;
  review: boolean;
  /** The fleet hosts a wave uses unless --hosts says (`local`: this machine). */
  hosts: string[];
  /** Tokens a wave's attempts may spend before it starts no more (null: no limit). */
  maxTokens: number | null;
}

export const BatchSectionSchema = z
  .object({
    /** Implement attempts move along this chain after each failure; past its end the item is blocked. */
    retry_chain: z.array(providerId).min(1).optional(),
    /** Providers for the separate review run, tried in order on review failures. */
    review_chain: z.array(providerId).min(1).optional(),
    max_parallel: z.number().int().positive().optional(),
    /** Review REVISION_REQUIRED verdicts allowed before the item is blocked. */
    max_revisions: z.number().int().min(0).optional(),
    exec_process_cap: z.number().int().positive().optional(),
    /** An orchestrator that has not renewed its wave lease for this long may be taken over. */
    lease_ttl_minutes: z.number().positive().optional(),
    poll_interval_sec: z.number().positive().optional(),
    review: z.boolean().optional(),
    /** Fleet hosts (the policy's fleet.hosts, and `local`) a wave dispatches to. */
    hosts: z.array(z.string().min(1)).min(1).optional(),
    /** Tokens (input + output, as the agents' CLIs report them) a wave may spend before it starts no more attempts. */
    max_tokens: z.number().int().positive().optional(),
  })
  .strict();

export const BATCH_SECTION: PolicySection<BatchPolicy> = {
  key: 'batch',
  schema: BatchSectionSchema,
  defaults: BATCH_DEFAULTS,
  resolve(raw) {
    const b = BatchSectionSchema.parse(raw);
    const retryChain = b.retry_chain ?? [...BATCH_DEFAULTS.retry_chain];
    return {
      retryChain,
      reviewChain: b.review_chain ?? retryChain,
      maxParallel: b.max_parallel ?? BATCH_DEFAULTS.max_parallel,
      maxRevisions: b.max_revisions ?? BATCH_DEFAULTS.max_revisions,
      execProcessCap: b.exec_process_cap ?? BATCH_DEFAULTS.exec_process_cap,
      leaseTtlMinutes: b.lease_ttl_minutes ?? BATCH_DEFAULTS.lease_ttl_minutes,
      pollIntervalSec: b.poll_interval_sec ?? BATCH_DEFAULTS.poll_interval_sec,
      review: b.review ?? BATCH_DEFAULTS.review,
      hosts: b.hosts ?? [...BATCH_DEFAULTS.hosts],
      // no budget unless one is set
      maxTokens: b.max_tokens ?? null,
    };
  },
};
