import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { inputFileProblem, readInputFile } from '../config/input-file.js';
import { DxError, ExitCode } from '../errors.js';
import { requireVendored } from '../vendor.js';

type Yaml = typeof import('yaml');
let yamlModule: Yaml | undefined;
/** yaml is loaded on first use so commands that never read YAML do not pay for it. */
function yaml(): Yaml {
  yamlModule ??= requireVendored<Yaml>('yaml');
  return yamlModule;
}

function yamlError(
  kind: string,
  file: string,
  line: number | undefined,
  col: number | undefined,
  detail: string,
): DxError {
  const where = line !== undefined ? `${file}:${line}:${col ?? 1}` : file;
  return new DxError(`invalid ${kind} ${where}: ${detail}`, {
    exitCode: ExitCode.general,
    reasonCode: `${kind}_invalid`,
    nextAction: `fix_the_${kind}_file_at_the_reported_line`,
    details: { file, line, column: col },
  });
}

function locate(
  doc: Document,
  counter: InstanceType<Yaml['LineCounter']>,
  issue: z.core.$ZodIssue,
): { line?: number; col?: number; label: string } {
  const { isMap, isScalar } = yaml();
  const segments = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  let node: unknown = segments.length > 0 ? doc.getIn(segments, true) : doc.contents;
  let label = segments
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0];
    if (isMap(node) && key !== undefined) {
      const pair = node.items.find((item) => isScalar(item.key) && item.key.value === key);
      if (pair) node = pair.key;
    }
    label = [label, key].filter(Boolean).join('.');
  }
  if (node === undefined && segments.length > 0) node = doc.getIn(segments.slice(0, -1), true);
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  if (!range) return { label };
  const pos = counter.linePos(range[0]);
  return { line: pos.line, col: pos.col, label };
}

/**
 * The data of a YAML text parsed at build time, found by the SHA-256 of the text (scripts/bundle-core.mjs
 * writes one JSON file per shipped YAML file: the default policy, the profiles, the scenarios). The
 * default policy is read on every start; this skips loading the YAML parser and parsing it. Keyed by
 * content, it cannot go stale: an edited file has another hash and is parsed as YAML.
 */
function prebuiltData(hash: string): unknown {
  const file = fileURLToPath(new URL(`./prebuilt/${hash}.json`, import.meta.url));
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The data of YAML texts this process has parsed, by the SHA-256 of the text: a long-lived caller
 * (dx-batch and nightly-dispatch start every job in-process, each start reading the policy file)
 * parses a file once per content. Keyed by content, an edited file is parsed again; the file is
 * still read every time.
 */
const parsedHere = new Map<string, unknown>();
const PARSED_HERE_LIMIT = 32;

function remember(hash: string, data: unknown): void {
  if (parsedHere.size >= PARSED_HERE_LIMIT) parsedHere.delete(parsedHere.keys().next().value!);
  parsedHere.set(hash, data);
}

export type YamlFileReader = <S extends z.ZodType>(file: string, schema: S, kind: string) => z.output<S>;

/** A policy or a profile is a page of settings: a file past this is not one. */
const MAX_YAML_BYTES = 4 * 1024 * 1024;

/**
 * Read a YAML file and validate it with a zod schema; every error names the file, line and column
 * (`kind` names the file in messages and reason codes: policy_invalid, profile_invalid, …).
 */
export function readYamlFile<S extends z.ZodType>(file: string, schema: S, kind: string): z.output<S> {
  let text: string;
  try {
    text = readInputFile(file, MAX_YAML_BYTES, { pipes: false });
  } catch (err) {
    throw new DxError(`cannot read ${kind} ${file}: ${inputFileProblem(err)}`, {
      exitCode: ExitCode.general,
      reasonCode: `${kind}_unreadable`,
    });
  }
  const hash = createHash('sha256').update(text).digest('hex');
  const known = parsedHere.has(hash) ? structuredClone(parsedHere.get(hash)) : prebuiltData(hash);
  if (known !== undefined) {
    const parsed = schema.safeParse(known);
    if (parsed.success) return parsed.data;
    // refused: the YAML path below finds the same issue and names its line
  }
  const { LineCounter, parseDocument } = yaml();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = counter.linePos(syntax.pos[0]);
    throw yamlError(
      kind,
      file,
      pos.line,
      pos.col,
      syntax.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, ''),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS() ?? {};
  } catch (err) {
    // e.g. the alias limit that stops a "billion laughs" document
    throw yamlError(kind, file, undefined, undefined, (err as Error).message.replace(/\s+/g, ' ').trim());
  }
  remember(hash, structuredClone(data));
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = locate(doc, counter, issue);
    throw yamlError(kind, file, where.line, where.col, `${where.label ? `${where.label}: ` : ''}${issue.message}`);
  }
  return parsed.data;
}
