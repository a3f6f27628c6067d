/**
 * Keeps API keys and tokens out of everything dx-runner writes: agent logs, outcome files, reports
 * and JSON output. Secrets are recognised by the env var that holds them (and by the values a
 * provider declares), so a key is scrubbed wherever it shows up, even inside agent output.
 */
const SECRET_NAME =
  /(API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|(^|_)KEY$|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|(^|_)AUTH($|_)|WEBHOOK|COOKIE|SESSION_?ID)/i;
const NOT_SECRET_NAME = /(_FILE|_PATH|_DIR|_URL_?BASE|_MODE|_TYPE|_TIMEOUT(_MS)?|_COUNT|_ENABLED)$/i;
const MIN_SECRET_LENGTH = 8;
/** What a secret is replaced with, everywhere. */
export const REDACTION_MARK = '[REDACTED]';
const PLACEHOLDER = REDACTION_MARK;
/** The password of a URL's user info (`scheme://user:password@host`): group 1 up to it, group 2 it. */
export const URL_PASSWORD = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s/?#@:'"]*:)([^\s/?#@'"]+)(?=@)/gi;

/**
 * Well-known token shapes that are scrubbed even when no env var names them; each with the literal
 * every match contains, so a line without it skips the pattern (a flood of output stays cheap).
 */
const TOKEN_PATTERNS: ReadonlyArray<readonly [string, RegExp, string]> = [
  ['sk-', /\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}/g, PLACEHOLDER],
  ['AIza', /\bAIza[0-9A-Za-z_-]{35}\b/g, PLACEHOLDER],
  ['_', /\bgh[pousr]_[A-Za-z0-9]{30,}\b/g, PLACEHOLDER],
  ['xox', /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g, PLACEHOLDER],
  ['github_pat_', /\bgithub_pat_[A-Za-z0-9_]{22,}/g, PLACEHOLDER],
  ['glpat-', /\bglpat-[A-Za-z0-9_-]{20,}/g, PLACEHOLDER],
  ['npm_', /\bnpm_[A-Za-z0-9]{36}\b/g, PLACEHOLDER],
  // the password of a URL's user info: a git remote with a token, DATABASE_URL, a private index
  ['@', URL_PASSWORD, `$1${PLACEHOLDER}`],
  ['Bearer', /(Bearer\s+)[A-Za-z0-9._~+/=-]{16,}/g, `$1${PLACEHOLDER}`],
  // a user and password in an HTTP header (curl -v prints the request's) and AWS's secret key in
  // its credentials file or `aws configure export-credentials`
  ['Basic', /(Authorization:\s*Basic\s+)[A-Za-z0-9+/=]{8,}/gi, `$1${PLACEHOLDER}`],
  ['ecret', /(aws_secret_access_key\s*[=:]\s*["']?)[A-Za-z0-9/+=]{20,}/gi, `$1${PLACEHOLDER}`],
  ['ecret', /("SecretAccessKey"\s*:\s*")[A-Za-z0-9/+=]{20,}/g, `$1${PLACEHOLDER}`],
];

export function isSecretEnvName(name: string): boolean {
  return SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name);
}

export function secretValuesFromEnv(
  env: Record<string, string | undefined>,
  extraNames: readonly string[] = [],
): string[] {
  const extra = new Set(extraNames);
  const values: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!value || value.length < MIN_SECRET_LENGTH) continue;
    if (extra.has(name) || isSecretEnvName(name)) values.push(value);
  }
  return values;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Redactor {
  private readonly exact: RegExp | undefined;

  constructor(secrets: Iterable<string>) {
    const unique = [...new Set([...secrets].map((s) => s.trim()).filter((s) => s.length >= MIN_SECRET_LENGTH))];
    unique.sort((a, b) => b.length - a.length);
    this.exact = unique.length > 0 ? new RegExp(unique.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  static fromEnv(
    envs: ReadonlyArray<Record<string, string | undefined>> = [process.env],
    extra: { names?: string[]; values?: string[] } = {},
  ): Redactor {
    const values = envs.flatMap((env) => secretValuesFromEnv(env, extra.names));
    return new Redactor([...values, ...(extra.values ?? [])]);
  }

  redact(text: string): string {
    let out = this.exact ? text.replace(this.exact, PLACEHOLDER) : text;
    for (const [literal, pattern, replacement] of TOKEN_PATTERNS)
      if (out.includes(literal)) out = out.replace(pattern, replacement);
    return out;
  }

  /** Redact every string inside a JSON-like value (keys are kept). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return (value as unknown[]).map((v) => this.redactDeep(v)) as T;
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = this.redactDeep(v);
      return out as T;
    }
    return value;
  }
}
