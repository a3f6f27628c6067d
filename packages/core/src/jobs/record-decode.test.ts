import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { parseKv, serializeKv } from '../state/kv.js';
import { compileRecordDecoder } from './record-decode.js';
import { decodeRecord, RECORD_SCHEMAS } from './record-io.js';

/**
 * The one-pass record reader must answer exactly as zod does: for every record its schema accepts,
 * the same values in the same key order; for every record it refuses, no answer (zod then words
 * the error). Records are generated from each schema: a valid one, then every field given every
 * raw value below, removed, doubled, and the text garbled around it.
 */
const RAW_VALUES = [
  '',
  'x',
  '0',
  '-3',
  '007',
  '1.5',
  '-1.25',
  '1e3',
  ' 1',
  '1 ',
  '0x10',
  'true',
  'false',
  'TRUE',
  'none',
  '-',
  'a,b',
  '["a","b"]',
  '["a"',
  '[]',
  '[1,2]',
  'success',
  'killed',
  'stop',
  'a\\nb',
  'C:\\\\x',
  'x\r',
  'k=v',
];

type Verdict = { ok: true; data: Record<string, unknown> } | { ok: false };

function byZod(schema: z.ZodType, text: string): Verdict {
  let kv: Record<string, string>;
  try {
    kv = parseKv(text);
  } catch {
    return { ok: false };
  }
  const parsed = schema.safeParse(kv);
  return parsed.success ? { ok: true, data: parsed.data as Record<string, unknown> } : { ok: false };
}

/** A valid record of the schema, as text: each field given the first raw value the schema accepts for it. */
function validText(schema: z.ZodObject): string {
  const lines: string[] = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const value = RAW_VALUES.find((v) => v !== '' && !v.includes('\\') && (field as z.ZodType).safeParse(v).success);
    if (value === undefined) throw new Error(`no raw value fits ${key}`);
    lines.push(`${key}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}

function variants(schema: z.ZodObject): string[] {
  const base = validText(schema);
  const lines = base.trimEnd().split('\n');
  const out = [base, base.trimEnd(), `# a comment\n\n${base}\n`, `${base}later_key=1\nx_y=a\\nb\n`, `zzz=1\n${base}`];
  out.push(`${base}=no key\n`, `${base}Bad=1\n`, `${base}no equals sign\n`, `${base}${lines[0]}\n`);
  lines.forEach((line, i) => {
    const key = line.slice(0, line.indexOf('='));
    const others = lines.filter((_, j) => j !== i);
    out.push(`${others.join('\n')}\n`); // the field left out
    out.push(`${others.join('\n')}\n${line}\n`); // moved to the end
    for (const raw of RAW_VALUES) {
      out.push(`${lines.map((l, j) => (j === i ? `${key}=${raw}` : l)).join('\n')}\n`);
      out.push(`${base}${key}=${raw}\n`); // given twice: the last wins
    }
  });
  return out;
}

describe('the one-pass record reader', () => {
  for (const [kind, schema] of Object.entries(RECORD_SCHEMAS)) {
    it(`answers as zod does for every ${kind} record generated from its schema`, () => {
      const decode = compileRecordDecoder(schema);
      expect(decode, `${kind} has a one-pass reader`).toBeDefined();
      let accepted = 0;
      let refused = 0;
      for (const text of variants(schema)) {
        const zod = byZod(schema, text);
        const fast = decode!(text);
        if (zod.ok) {
          accepted++;
          expect(fast, text).toEqual(zod.data);
          expect(Object.keys(fast!), text).toEqual(Object.keys(zod.data));
        } else {
          refused++;
          expect(fast, text).toBeUndefined();
        }
      }
      // both sides of the contract were exercised
      expect(accepted).toBeGreaterThan(50);
      expect(refused).toBeGreaterThan(50);
    });
  }

  it('reads a record that serializeKv wrote, escapes and lists included', () => {
    const text = serializeKv({
      run_instance: 'r1',
      reason: 'line one\nline two \\ done',
      retries: 2,
      blocked_at: '2026-11-30T06:00:00Z',
      note: 'kept',
    });
    expect(decodeRecord('blocked', text, 'f')).toEqual({
      run_instance: 'r1',
      reason: 'line one\nline two \\ done',
      retries: 2,
      blocked_at: '2026-11-30T06:00:00Z',
      note: 'kept',
    });
  });

  it('has no reader for a schema with a field type it does not know: zod alone decides', async () => {
    const { z: zod } = await import('../zod.js');
    expect(compileRecordDecoder(zod.looseObject({ a: zod.string().min(2) }))).toBeUndefined();
    expect(compileRecordDecoder(zod.object({ a: zod.string() }))).toBeUndefined();
  });
});
