import { z } from '@dx/core/zod';

export const CONTRACT_MARKER = 'CONTRACT:JSON:';

const commit = z.union([
  z.string().min(4),
  z.object({ sha: z.string().min(4), message: z.string().optional(), feature_key: z.string().optional() }),
]);

/** What an implement run reports on its last line (validated, never trusted blindly). */
export const ImplementContractSchema = z.object({
  phase: z.literal('implement'),
  beads_id: z.string().min(1),
  status: z.enum(['completed', 'partial', 'failed', 'no_op', 'blocked']),
  artifacts: z.object({
    files_changed: z.array(z.string()),
    commits: z.array(commit),
    tests_passed: z.boolean().optional(),
    tests_output: z.string().optional(),
  }),
  summary: z.string(),
  findings: z
    .array(
      z.object({
        type: z.enum(['info', 'warning', 'error']),
        message: z.string(),
        file: z.string().optional(),
        line: z.number().int().optional(),
      }),
    )
    .default([]),
  timestamp: z.string(),
  duration_sec: z.number().nonnegative().optional(),
});
export type ImplementContract = z.infer<typeof ImplementContractSchema>;

/** What a review run reports; findings are required unless the verdict is APPROVED. */
export const ReviewContractSchema = z
  .object({
    phase: z.literal('review'),
    beads_id: z.string().min(1),
    verdict: z.enum(['APPROVED', 'REVISION_REQUIRED', 'BLOCKED']),
    findings: z.array(
      z.object({
        type: z.enum(['critical', 'major', 'minor', 'suggestion', 'positive']),
        message: z.string().min(1),
        file: z.string().optional(),
        line: z.number().int().optional(),
        suggestion: z.string().optional(),
      }),
    ),
    summary: z.string(),
    coverage: z
      .object({
        lines_changed: z.number().int().optional(),
        lines_reviewed: z.number().int().optional(),
        files_reviewed: z.number().int().optional(),
      })
      .optional(),
    approvals: z.array(z.object({ criteria: z.string(), passed: z.boolean() })).optional(),
    reviewer: z.string().optional(),
    timestamp: z.string(),
    duration_sec: z.number().nonnegative().optional(),
  })
  .refine((c) => c.verdict === 'APPROVED' || c.findings.length > 0, {
    message: 'findings required when verdict is REVISION_REQUIRED or BLOCKED',
    path: ['findings'],
  });
export type ReviewContract = z.infer<typeof ReviewContractSchema>;
