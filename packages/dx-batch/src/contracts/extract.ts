import {
  CONTRACT_MARKER,
  ImplementContractSchema,
  ReviewContractSchema,
  type ImplementContract,
  type ReviewContract,
} from './schemas.js';

/** The JSON object that starts `text` (the rest of the line may hold anything). */
export function leadingJson(text: string): unknown {
  const start = text.indexOf('{');
  if (start < 0) return undefined;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** Every string inside a JSON value (agent CLIs log the model's text inside JSON events). */
function strings(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
}

/** Candidate contract objects in order of appearance, from plain text and from JSON-encoded log lines. */
export function contractCandidates(sources: string[]): unknown[] {
  const found: unknown[] = [];
  const scan = (text: string) => {
    let at = text.indexOf(CONTRACT_MARKER);
    while (at >= 0) {
      const value = leadingJson(text.slice(at + CONTRACT_MARKER.length));
      if (value !== undefined) found.push(value);
      at = text.indexOf(CONTRACT_MARKER, at + CONTRACT_MARKER.length);
    }
  };
  for (const source of sources) {
    for (const line of source.split('\n')) {
      if (!line.includes(CONTRACT_MARKER)) continue;
      const trimmed = line.trim();
      if (trimmed.startsWith('{')) {
        try {
          const nested: string[] = [];
          strings(JSON.parse(trimmed), nested);
          for (const s of nested) scan(s);
          continue;
        } catch {
          // not a JSON event line: read it as text
        }
      }
      scan(line);
    }
  }
  return found;
}

export type ContractResult<T> = { ok: true; contract: T } | { ok: false; reason: string };

/**
 * Where a job's contract is looked for: the agent's final message and its log, and the prompt it was
 * given, whose own CONTRACT:JSON: lines (the example, an issue or a reviewer's finding that quotes
 * one) are not the agent's: some CLIs log the prompt they were given (Gemini's stream-json opens with
 * it), and the agent may quote it.
 */
export interface ContractEvidence {
  sources: string[];
  prompt?: string;
}

function pick<T>(
  evidence: ContractEvidence,
  beadsId: string,
  parse: (
    v: unknown,
  ) =>
    { success: true; data: T } | { success: false; error: { issues: Array<{ path: PropertyKey[]; message: string }> } },
  label: string,
): ContractResult<T> {
  const quoted = new Set(contractCandidates(evidence.prompt ? [evidence.prompt] : []).map((c) => JSON.stringify(c)));
  const all = contractCandidates(evidence.sources);
  const candidates = all.filter((c) => !quoted.has(JSON.stringify(c)));
  if (candidates.length === 0)
    return {
      ok: false,
      reason:
        all.length === 0
          ? `no ${CONTRACT_MARKER} line found`
          : `no ${CONTRACT_MARKER} line of the agent's own (only the prompt's, repeated)`,
    };
  let last = '';
  for (let i = candidates.length - 1; i >= 0; i--) {
    const r = parse(candidates[i]);
    if (!r.success) {
      const issue = r.error.issues[0];
      last ||= `${label} contract invalid: ${issue.path.join('.') || '(root)'}: ${issue.message}`;
      continue;
    }
    const beads = (r.data as { beads_id: string }).beads_id;
    if (beads !== beadsId) {
      last ||= `${label} contract is for ${beads}, not ${beadsId}`;
      continue;
    }
    return { ok: true, contract: r.data };
  }
  return { ok: false, reason: last };
}

/** The last valid implement contract for this item (its beads_id must match). */
export function extractImplementContract(
  evidence: ContractEvidence,
  beadsId: string,
): ContractResult<ImplementContract> {
  return pick(evidence, beadsId, (v) => ImplementContractSchema.safeParse(v), 'implement');
}

export function extractReviewContract(evidence: ContractEvidence, beadsId: string): ContractResult<ReviewContract> {
  return pick(evidence, beadsId, (v) => ReviewContractSchema.safeParse(v), 'review');
}
