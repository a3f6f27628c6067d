/**
 * The key=value state format (`beads=bd-xxx` one per line). Values are escaped so a
 * newline in a value can never forge another key; lists are stored as JSON arrays, escaped the same
 * way (a list without a backslash in its JSON reads the same either way: records written before
 * lists were escaped still parse).
 */
export type KvValue = string | number | boolean | readonly string[] | null | undefined;
export type KvRecord = Record<string, string>;

const KEY = /^[a-z][a-z0-9_]*$/;

export class KvParseError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
    this.name = 'KvParseError';
  }
}

function escapeValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

export function unescapeValue(value: string): string {
  // most values carry no escape: skip the regex (status reads thousands of records)
  if (!value.includes('\\')) return value;
  return value.replace(/\\(\\|n|r)/g, (_m, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
}

export function serializeKv(record: Record<string, KvValue>): string {
  let out = '';
  for (const [key, value] of Object.entries(record)) {
    if (value === undefined || value === null) continue;
    if (!KEY.test(key)) throw new Error(`invalid state key: ${key}`);
    // a list is JSON, escaped like any value: the JSON's own `\\` and `\n` (a file named `a\b`)
    // must come back from parseKv as JSON wrote them, not unescaped into something JSON refuses
    const text = escapeValue(Array.isArray(value) ? JSON.stringify(value) : String(value));
    out += `${key}=${text}\n`;
  }
  return out;
}

export function parseKv(text: string, file = '<memory>'): KvRecord {
  const record: KvRecord = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new KvParseError(file, i + 1, `expected key=value, got "${line.slice(0, 60)}"`);
    const key = line.slice(0, eq);
    if (!KEY.test(key)) throw new KvParseError(file, i + 1, `invalid key "${key.slice(0, 60)}"`);
    record[key] = unescapeValue(line.slice(eq + 1));
  }
  return record;
}

export function parseKvList(value: string | undefined): string[] {
  if (value === undefined || value === '' || value === 'none' || value === '-') return [];
  if (value.startsWith('[')) {
    const parsed: unknown = JSON.parse(value);
    if (Array.isArray(parsed)) return parsed.map(String);
  }
  return value.split(',').filter(Boolean);
}
