import type { z } from 'zod';
import { unescapeValue } from '../state/kv.js';

/**
 * A job record read in one pass over its text. The zod schemas in records.ts are the contract; each
 * record kind's reader here is compiled from its schema once, and answers only for a record the
 * schema accepts, with the same output (same values, same key order). Anything else — a garbled line,
 * a bad value, a field type this reader does not know — gets `undefined`, and the caller asks zod,
 * which decides and words the error. Why not zod alone: a `status` over 1,000 finished jobs validates
 * 2,000 records once each, and zod's generic parse of a string→number pipe costs about three times
 * this loop in a process that exits before V8 has warmed it up.
 */
export const INVALID: unique symbol = Symbol('invalid value');
type FieldDecode = (value: string) => unknown;

const fieldKinds = new WeakMap<object, FieldDecode>();

/**
 * Declare a field kind of the key=value records: its zod schema and the same rule as a plain function
 * returning the decoded value or INVALID. record-decode.test.ts proves the two agree.
 */
export function fieldKind<T extends z.ZodType>(schema: T, decode: FieldDecode): T {
  fieldKinds.set(schema, decode);
  return schema;
}

/** The little of zod's schema definitions this reader looks at. */
interface SchemaDef {
  type: string;
  innerType?: z.ZodType;
  checks?: unknown[];
  entries?: Record<string, string | number>;
  catchall?: z.ZodType;
  shape?: Record<string, z.ZodType>;
}
const defOf = (schema: z.ZodType) => (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;

interface Field {
  key: string;
  index: number;
  decode: FieldDecode;
  optional: boolean;
}

const plainString: FieldDecode = (value) => value;

function fieldOf(schema: z.ZodType): Omit<Field, 'key' | 'index'> | undefined {
  const declared = fieldKinds.get(schema);
  if (declared) return { decode: declared, optional: false };
  const def = defOf(schema);
  if (def.type === 'optional' && def.innerType) {
    const inner = fieldOf(def.innerType);
    return inner && { ...inner, optional: true };
  }
  if (def.type === 'string' && !def.checks?.length) return { decode: plainString, optional: false };
  if (def.type === 'enum' && def.entries) {
    const allowed = new Set(Object.values(def.entries).map(String));
    return { decode: (value) => (allowed.has(value) ? value : INVALID), optional: false };
  }
  return undefined;
}

export type RecordDecoder = (text: string) => Record<string, unknown> | undefined;

const KEY = /^[a-z][a-z0-9_]*$/;

/** The one-pass reader of a loose object schema, or undefined when a field has a type it does not know. */
export function compileRecordDecoder(schema: z.ZodType): RecordDecoder | undefined {
  const def = defOf(schema);
  // a loose object (unknown keys kept as they are) is all the records are
  if (def.type !== 'object' || !def.shape || !def.catchall || defOf(def.catchall).type !== 'unknown') return undefined;
  const fields: Field[] = [];
  for (const [key, fieldSchema] of Object.entries(def.shape)) {
    const field = fieldOf(fieldSchema);
    if (!field) return undefined;
    fields.push({ key, index: fields.length, ...field });
  }
  const byKey = new Map(fields.map((f) => [f.key, f]));
  const required = fields.filter((f) => !f.optional).length;

  return (text) => {
    const values: unknown[] = new Array(fields.length);
    let extra: string[] | undefined;
    let requiredSeen = 0;
    for (let start = 0; start < text.length;) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      // a blank line or a comment (#) carries nothing
      if (end > start && text.charCodeAt(start) !== 35) {
        const eq = text.indexOf('=', start);
        if (eq <= start || eq > end) return undefined;
        const key = text.slice(start, eq);
        const value = unescapeValue(text.slice(eq + 1, end));
        const field = byKey.get(key);
        if (field) {
          const decoded = field.decode(value);
          if (decoded === INVALID) return undefined;
          if (values[field.index] === undefined && !field.optional) requiredSeen++;
          values[field.index] = decoded;
        } else {
          if (!KEY.test(key)) return undefined;
          (extra ??= []).push(key, value);
        }
      }
      start = end + 1;
    }
    if (requiredSeen !== required) return undefined;
    // zod's order: the schema's fields, then the unknown keys as they came
    const out: Record<string, unknown> = {};
    for (const field of fields) if (values[field.index] !== undefined) out[field.key] = values[field.index];
    if (extra) for (let i = 0; i < extra.length; i += 2) out[extra[i]] = extra[i + 1];
    return out;
  };
}
