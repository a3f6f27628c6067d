/* Kept apart from policy.ts (which loads zod) so command help can quote them cheaply. */

/** The one set of defaults of the nightly section (help texts and the README quote these). */
export const NIGHTLY_DEFAULTS = {
  provider_chain: ['opencode', 'cc-glm', 'gemini'],
  max_items: 3,
  ack_timeout_sec: 45,
  ack_retries: 1,
  max_parallel: 1,
  max_parallel_post_migration: 2,
  migration_hours: 48,
  alert_on_fallback: true,
  alert_on_no_providers: true,
  alert_rate_limit_minutes: 30,
  work_query: 'ready',
  critical_priorities: [0, 1],
  dedupe_by_title: true,
  max_critical_bugs: 10,
  alert_on_overload: true,
  alert_on_dispatch_complete: true,
  provider_models: { gemini: ['gemini-2.5-pro', 'gemini-2.0-flash'] },
} as const;
