import type { BeadsIssue } from '@dx/core';

/** Seed 003's prompt, with the Beads fields an agent needs and the trailer the gates check. */
export function nightlyPrompt(issue: BeadsIssue): string {
  return [
    'Fix the following issue:',
    '',
    `Title: ${issue.title}`,
    `ID: ${issue.id}`,
    `Priority: ${issue.priority ?? '-'}`,
    `Type: ${issue.issue_type ?? '-'}`,
    '',
    'Description:',
    issue.description?.trim() || 'No description provided',
    '',
    'Steps:',
    '1. Reproduce the problem',
    '2. Identify the root cause',
    '3. Implement the fix and add a test',
    "4. Run the project's checks",
    `5. Commit; every commit message ends with the trailer line: Feature-Key: ${issue.id}`,
    '6. Summarise what you changed and how you verified it',
    '',
  ].join('\n');
}
