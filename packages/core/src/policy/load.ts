import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { DxError, ExitCode } from '../errors.js';
import { PolicySchema, type Policy, type PolicyDocument } from './schema.js';

export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('../../policy/default.yaml', import.meta.url));

function policyError(file: string, line: number | undefined, col: number | undefined, detail: string): DxError {
  const where = line !== undefined ? `${file}:${line}:${col ?? 1}` : file;
  return new DxError(`invalid policy ${where}: ${detail}`, {
    exitCode: ExitCode.general,
    reasonCode: 'policy_invalid',
    nextAction: 'fix_the_policy_file_at_the_reported_line',
    details: { file, line, column: col },
  });
}

type Yaml = typeof import('yaml');
let yamlModule: Yaml | undefined;
/** yaml is loaded on first use so commands that never read a policy do not pay for it. */
function yaml(): Yaml {
  yamlModule ??= createRequire(import.meta.url)('yaml') as Yaml;
  return yamlModule;
}

function locate(doc: Document, counter: InstanceType<Yaml['LineCounter']>, issue: z.core.$ZodIssue): { line?: number; col?: number; label: string } {
  const segments = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  let node: unknown = segments.length > 0 ? doc.getIn(segments, true) : doc.contents;
  let label = segments.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
  if (issue.code === 'unrecognized_keys') {
    const container = segments.length > 0 ? doc.getIn(segments, true) : doc.contents;
    const key = issue.keys[0];
    const { isMap, isScalar } = yaml();
    if (isMap(container) && key !== undefined) {
      const pair = container.items.find((item) => isScalar(item.key) && item.key.value === key);
      if (pair) node = pair.key;
    }
    label = [label, key].filter(Boolean).join('.');
  }
  if (node === undefined && segments.length > 0) {
    const parent = doc.getIn(segments.slice(0, -1), true);
    node = parent;
  }
  const range = (node as { range?: [number, number, number] } | undefined)?.range;
  if (!range) return { label };
  const pos = counter.linePos(range[0]);
  return { line: pos.line, col: pos.col, label };
}

/** Parse one policy file; every error names file, line and column. */
export function readPolicyFile(file: string): PolicyDocument {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DxError(`cannot read policy ${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code)}`, {
      exitCode: ExitCode.general,
      reasonCode: 'policy_unreadable',
    });
  }
  const { LineCounter, parseDocument } = yaml();
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = counter.linePos(syntax.pos[0]);
    throw policyError(file, pos.line, pos.col, syntax.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''));
  }
  const data: unknown = doc.toJS() ?? {};
  const parsed = PolicySchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = locate(doc, counter, issue);
    throw policyError(file, where.line, where.col, `${where.label ? `${where.label}: ` : ''}${issue.message}`);
  }
  return parsed.data;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Maps merge key by key; lists and scalars are replaced. */
export function mergePolicy<T>(base: T, override: unknown): T {
  if (!isPlainObject(base) || !isPlainObject(override)) return (override === undefined ? base : override) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(override)) out[k] = k in out ? mergePolicy(out[k], v) : v;
  return out as T;
}

export function expandHome(p: string, env: NodeJS.ProcessEnv = process.env): string {
  if (p === '~') return env.HOME || os.homedir();
  if (p.startsWith('~/')) return path.join(env.HOME || os.homedir(), p.slice(2));
  return p;
}

export function userPolicyFile(explicit: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (explicit) return path.resolve(explicit);
  if (env.DX_POLICY_FILE) return path.resolve(env.DX_POLICY_FILE);
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  const candidate = path.join(configHome, 'dx-runner', 'policy.yaml');
  return fs.existsSync(candidate) ? candidate : undefined;
}

export interface LoadPolicyOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
}

/** The default policy, overridden by the user's file if any, plus env overrides. */
export function loadPolicy(options: LoadPolicyOptions = {}): Policy {
  const env = options.env ?? process.env;
  const sources = [DEFAULT_POLICY_FILE];
  let document = readPolicyFile(DEFAULT_POLICY_FILE);
  const user = userPolicyFile(options.file, env);
  if (user) {
    document = mergePolicy(document, readPolicyFile(user));
    sources.push(user);
  }
  const extra = (env.DX_RUNNER_EXTRA_ALLOWED_PREFIXES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    sources,
    document,
    worktrees: {
      allowedPrefixes: [...(document.worktrees?.allowed_prefixes ?? []), ...extra].map((p) => expandHome(p, env)),
      forbiddenRepos: (document.worktrees?.forbidden_repos ?? []).map((p) => expandHome(p, env)),
    },
    defaults: { maxParallel: document.defaults?.max_parallel ?? 2 },
    providers: document.providers ?? {},
  };
}

/** DX_RUNNER_MAX_PARALLEL_<PROVIDER> wins over the policy; provider names map `-` to `_`. */
export function maxParallelFor(policy: Policy, provider: string, env: NodeJS.ProcessEnv = process.env): number {
  const key = `DX_RUNNER_MAX_PARALLEL_${provider.toUpperCase().replace(/-/g, '_')}`;
  const fromEnv = env[key];
  if (fromEnv !== undefined && fromEnv !== '') {
    const n = Number(fromEnv);
    if (!Number.isInteger(n) || n < 1) {
      throw new DxError(`${key} must be a positive integer, got "${fromEnv}"`, { exitCode: ExitCode.general, reasonCode: 'invalid_env' });
    }
    return n;
  }
  return policy.providers[provider]?.max_parallel ?? policy.defaults.maxParallel;
}
