import type { BeadsIssue } from '@dx/core';
import { CONTRACT_MARKER, type ImplementContract } from './schemas.js';

/** Machine-readable markers at the top of every dx-batch prompt (also read by test agents). */
function header(beadsId: string, phase: 'implement' | 'review', attempt: number, waveId: string): string {
  return [
    `DX-BATCH-ITEM: ${beadsId}`,
    `DX-BATCH-PHASE: ${phase}`,
    `DX-BATCH-ATTEMPT: ${attempt}`,
    `DX-BATCH-WAVE: ${waveId}`,
  ].join('\n');
}

function task(beadsId: string, issue: BeadsIssue | undefined, extra: string | undefined): string {
  const lines = [`## Task: Beads issue ${beadsId}`];
  if (issue) {
    lines.push(`Title: ${issue.title}`);
    if (issue.description) lines.push('', String(issue.description));
  } else {
    lines.push(`Read the issue with: bd show ${beadsId}`);
  }
  if (extra) lines.push('', '## Additional instructions', extra.trim());
  return lines.join('\n');
}

/**
 * The contract examples in the prompts hold a placeholder where the agent must choose (status,
 * verdict), so that no example is itself a valid contract: CLIs that log their prompt (Gemini)
 * would otherwise hand dx-batch an "APPROVED" no model gave.
 */
export function implementPrompt(p: {
  waveId: string;
  beadsId: string;
  attempt: number;
  issue?: BeadsIssue;
  extra?: string;
  reviewFindings?: string[];
}): string {
  const example = {
    phase: 'implement',
    beads_id: p.beadsId,
    status: '<completed|partial|failed|no_op|blocked>',
    artifacts: {
      files_changed: ['src/example.ts'],
      commits: [{ sha: '<sha>', message: '<subject>' }],
      tests_passed: true,
    },
    summary: '<one paragraph>',
    findings: [],
    timestamp: '<ISO 8601 UTC>',
    duration_sec: 0,
  };
  return [
    header(p.beadsId, 'implement', p.attempt, p.waveId),
    '',
    task(p.beadsId, p.issue, p.extra),
    ...(p.reviewFindings?.length
      ? ['', '## A reviewer asked for these revisions', ...p.reviewFindings.map((f) => `- ${f}`)]
      : []),
    '',
    '## How to finish',
    '1. Implement the change in this worktree and add or update tests; run them.',
    `2. Commit your work; every commit message ends with the trailer line: Feature-Key: ${p.beadsId}`,
    `3. The LAST line of your final message must be ${CONTRACT_MARKER} followed by one line of JSON:`,
    `   ${CONTRACT_MARKER}${JSON.stringify(example)}`,
    '   status is one of completed | partial | failed | no_op | blocked; findings items are {type: info|warning|error, message}.',
    '   Report only what you really did: a separate reviewer reads the diff and runs the tests.',
  ].join('\n');
}

export function reviewPrompt(p: {
  waveId: string;
  beadsId: string;
  attempt: number;
  issue?: BeadsIssue;
  implement?: ImplementContract | null;
}): string {
  const example = {
    phase: 'review',
    beads_id: p.beadsId,
    verdict: '<APPROVED|REVISION_REQUIRED|BLOCKED>',
    findings: [{ type: 'positive', message: '<what is good or must change>' }],
    summary: '<one paragraph>',
    coverage: { files_reviewed: 1 },
    approvals: [{ criteria: 'tests cover the change', passed: true }],
    reviewer: '<your model>',
    timestamp: '<ISO 8601 UTC>',
  };
  return [
    header(p.beadsId, 'review', p.attempt, p.waveId),
    '',
    task(p.beadsId, p.issue, undefined),
    '',
    '## Review the implementation in this worktree',
    'Do not change any file. Read the diff of the recent commits and run the tests.',
    ...(p.implement
      ? [
          '',
          'The implementer reported:',
          `- status: ${p.implement.status}`,
          `- summary: ${p.implement.summary}`,
          `- files: ${p.implement.artifacts.files_changed.join(', ') || '-'}`,
        ]
      : []),
    '',
    `The LAST line of your final message must be ${CONTRACT_MARKER} followed by one line of JSON:`,
    `${CONTRACT_MARKER}${JSON.stringify(example)}`,
    'verdict is one of APPROVED | REVISION_REQUIRED | BLOCKED. If the verdict is REVISION_REQUIRED or BLOCKED you MUST',
    'include at least one finding (type: critical | major | minor | suggestion | positive) saying what must change.',
  ].join('\n');
}
