import { z } from '../zod.js';

/** Fields every gate reports: verdict, the reason code of that outcome, what to do next. */
const GateBaseSchema = z.object({
  gate: z.string(),
  passed: z.boolean(),
  reason_code: z.string(),
  next_action: z.string(),
  /** The next action as a sentence for people; scripts match on next_action. */
  next_action_text: z.string(),
  details: z.string(),
  beads: z.string().nullable(),
  worktree: z.string().nullable(),
});

export const BaselineGateOutputSchema = GateBaseSchema.extend({
  runtime: z.string().nullable(),
  required: z.string(),
});
export type BaselineGateOutput = z.infer<typeof BaselineGateOutputSchema>;

/** `worktree-gate`: the item's worktree found under `base` on this machine (worktree: null when not). */
export const ItemWorktreeGateOutputSchema = GateBaseSchema.extend({
  base: z.string(),
});
export type ItemWorktreeGateOutput = z.infer<typeof ItemWorktreeGateOutputSchema>;

export const IntegrityGateOutputSchema = GateBaseSchema.extend({
  head: z.string().nullable(),
  base: z.string().nullable(),
  reported: z.string().nullable(),
});
export type IntegrityGateOutput = z.infer<typeof IntegrityGateOutputSchema>;

export const FeatureKeyGateOutputSchema = GateBaseSchema.extend({
  feature_key: z.string().nullable(),
  base: z.string().nullable(),
  head: z.string().nullable(),
  checked_commits: z.number().int(),
  missing_commits: z.array(z.string()),
});
export type FeatureKeyGateOutput = z.infer<typeof FeatureKeyGateOutputSchema>;

export const ScopeGateOutputSchema = GateBaseSchema.extend({
  base: z.string().nullable(),
  mutations: z.number().int(),
  mutation_budget: z.number().int().nullable(),
  allowed_paths: z.array(z.string()),
  changed_files: z.array(z.string()),
  violations: z.array(z.string()),
});
export type ScopeGateOutput = z.infer<typeof ScopeGateOutputSchema>;

export const EvidenceClaimSchema = z.object({
  line: z.number().int(),
  text: z.string(),
  kind: z.enum(['tests_passed', 'commit_made', 'files_changed', 'lint_passed', 'other']),
  status: z.enum(['verified', 'contradicted', 'unverifiable']),
  evidence: z.string(),
});

export const EvidenceGateOutputSchema = GateBaseSchema.extend({
  signoff_file: z.string(),
  strict: z.boolean(),
  claims: z.array(EvidenceClaimSchema),
  verified: z.number().int(),
  total: z.number().int(),
});
export type EvidenceGateOutput = z.infer<typeof EvidenceGateOutputSchema>;
export type EvidenceClaim = z.infer<typeof EvidenceClaimSchema>;

export const BeadsGateOutputSchema = GateBaseSchema.extend({
  bd: z.object({ path: z.string().nullable(), version: z.string().nullable() }),
  external_repo: z.string(),
  external_remote: z.string().nullable(),
  db_status: z.enum(['connected', 'error', 'unknown']),
  project_id_db: z.string().nullable(),
  project_id_repo: z.string().nullable(),
  probe_id: z.string().nullable(),
  write_probe: z.enum(['passed', 'failed', 'skipped']),
});
export type BeadsGateOutput = z.infer<typeof BeadsGateOutputSchema>;
