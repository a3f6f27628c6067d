import type { FailureClass, ProviderKit } from './contract.js';

/** How much of a tool call's arguments is kept to tell it from another (its length is kept too). */
const CALL_INPUT_MAX = 2000;

/** Vendor-neutral helpers injected into providers (watcher-safe: no imports). */
export const providerKit: ProviderKit = {
  httpStatusClass(status) {
    if (status === 401 || status === 403) return 'auth_invalid';
    if (status === 404) return 'model_unavailable';
    if (status === 408) return 'timeout';
    if (status === 429) return 'rate_limited';
    if (status >= 500 && status <= 599) return 'server_error';
    return undefined;
  },
  findResetAt(text, utcOffsetMinutes = 0) {
    const m = /reset(?:s)?\s+(?:at|on)\s+(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/i.exec(text);
    if (!m) return undefined;
    const [, y, mo, d, h, mi, se] = m;
    const utc =
      Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se ?? 0)) -
      utcOffsetMinutes * 60_000;
    return Number.isFinite(utc) ? new Date(utc).toISOString() : undefined;
  },
  parseJson(text) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return undefined;
    }
  },
  text(value, fallback = '') {
    if (value === undefined || value === null) return fallback;
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
    return JSON.stringify(value) ?? fallback;
  },
  firstLine(text, max = 300) {
    const line = text.trim().split('\n')[0]?.trim() ?? '';
    return line.length > max ? `${line.slice(0, max - 1)}…` : line;
  },
  callInput(value) {
    if (value === undefined || value === null) return undefined;
    const text = JSON.stringify(value, (_key, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
          )
        : v,
    ) as string | undefined;
    // a call is told from another by its start: a whole file's content need not be kept
    return text === undefined
      ? undefined
      : text.length > CALL_INPUT_MAX
        ? `${text.slice(0, CALL_INPUT_MAX)}…#${text.length}`
        : text;
  },
  reasonCode(prefix, failureClass, overrides = {}) {
    const suffix: Record<FailureClass, string> = {
      rate_limited: 'rate_limited',
      auth_missing: 'auth_missing',
      auth_invalid: 'auth_blocked',
      model_unavailable: 'model_unavailable',
      network: 'network_error',
      server_error: 'server_error',
      binary_missing: 'binary_missing',
      untrusted_workspace: 'untrusted_workspace',
      permission_denied: 'permission_denied',
      turn_limit: 'turn_limit',
      timeout: 'timeout',
      crashed: 'crashed',
      output_flood: 'output_flood',
      disk_full: 'disk_full',
      context_exceeded: 'context_exceeded',
    };
    return `${prefix}_${overrides[failureClass] ?? suffix[failureClass]}`;
  },
  classified(vocabulary, failureClass, summary, extra = {}) {
    return {
      reasonCode: providerKit.reasonCode(vocabulary.prefix, failureClass, vocabulary.reasonOverrides),
      failureClass,
      summary: providerKit.firstLine(summary),
      nextAction: vocabulary.nextActions?.[failureClass],
      ...extra,
    };
  },
  probeAnswered(binary, model, startedAtMs) {
    const detail = `${model} answered in ${Date.now() - startedAtMs} ms`;
    return {
      ok: true,
      binary: { path: binary.path, version: binary.version },
      model,
      checks: [{ name: 'probe', status: 'ok', detail }],
    };
  },
  probeFailed(binary, model, failure) {
    return {
      ok: false,
      binary: { path: binary.path, version: binary.version },
      model,
      checks: [
        {
          name: 'probe',
          status: 'fail',
          detail: failure.summary ?? failure.reasonCode,
          reasonCode: failure.reasonCode,
          failureClass: failure.failureClass,
        },
      ],
    };
  },
};
