/* Kept apart from policy.ts (which loads zod) so command help can quote them cheaply. */

/** The one set of defaults of the batch section (help texts and the README quote these). */
export const BATCH_DEFAULTS = {
  retry_chain: ['opencode', 'cc-glm'],
  review_chain: ['opencode', 'cc-glm'],
  max_parallel: 3,
  max_revisions: 2,
  exec_process_cap: 60,
  lease_ttl_minutes: 10,
  poll_interval_sec: 5,
  review: true,
  hosts: ['local'],
} as const;
