/** The gate block: verdict line, then the facts that decided it. */
export function renderGate(
  title: string,
  g: { passed: boolean; reason_code: string; next_action: string; next_action_text: string; details: string },
  facts: Array<[string, string | number | boolean | string[] | null | undefined]>,
): string {
  const lines = [`${title}: ${g.passed ? 'PASSED' : 'FAILED'} (${g.reason_code})`];
  for (const [k, v] of facts)
    if (v !== null && v !== undefined && v !== '')
      lines.push(`  ${k}: ${Array.isArray(v) ? v.join(', ') || '-' : String(v)}`);
  lines.push(`  details: ${g.details}`);
  if (!g.passed) lines.push(`  next_action: ${g.next_action}  # ${g.next_action_text}`);
  return lines.join('\n');
}
