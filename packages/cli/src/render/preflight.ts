import type { PreflightOutput } from '@dx/core';

const MARK: Record<string, string> = { ok: 'OK', warn: 'WARN', fail: 'FAIL', skip: 'SKIP' };

/** The preflight block for one provider. */
export function renderPreflight(r: PreflightOutput, title = 'Preflight'): string {
  const lines = [`=== ${title}: ${r.provider} ===`];
  if (r.model) lines.push(`model: ${r.model}${r.model_source ? ` (${r.model_source})` : ''}`);
  for (const c of r.checks)
    lines.push(
      `${c.name}: ${MARK[c.status]} ${c.detail}${c.reason_code && c.status === 'fail' ? ` [${c.reason_code}]` : ''}`,
    );
  lines.push(
    r.ok
      ? `=== ${title} PASSED ===`
      : `=== ${title} FAILED (reason_code=${r.reason_code}, next_action=${r.next_action}) ===`,
  );
  if (!r.ok && r.next_action_text) lines.push(`next: ${r.next_action_text}`);
  return lines.join('\n');
}
