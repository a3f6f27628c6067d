/**
 * Reading Claude Code's `--output-format stream-json --verbose` output (verified against
 * @anthropic-ai/claude-code 2.1.197, recordings in ../fixtures). Loaded by the dx-runner watcher,
 * so it imports nothing at run time.
 */
import type {
  AgentEvent,
  AgentExit,
  FailureClass,
  FailureClassification,
  FailureVocabulary,
  ProviderKit,
  ProviderRuntime,
  ToolTranscriptReader,
} from '@dx/core';
import { PROVIDER_ID } from './id.js';

export { PROVIDER_ID };
const PREFIX = 'cc_glm';
/** Z.ai reports quota resets in China Standard Time ("Your limit will reset at 2026-11-24 12:00:00"). */
export const ZAI_UTC_OFFSET_MINUTES = 8 * 60;

type Json = Record<string, unknown>;

/** Claude's assistant-message `error` classes and api_retry `error` values. */
const ERROR_CLASS: Record<string, FailureClass> = {
  authentication_failed: 'auth_invalid',
  oauth_org_not_allowed: 'auth_invalid',
  billing_error: 'auth_invalid',
  rate_limit: 'rate_limited',
  overloaded: 'server_error',
  server_error: 'server_error',
  model_not_found: 'model_unavailable',
  invalid_request: 'crashed',
  max_output_tokens: 'turn_limit',
};

/** Z.ai business codes inside error bodies (docs.z.ai API codes). */
export function zaiCodeClass(code: string): { failureClass: FailureClass; quotaWindow: boolean } | undefined {
  const n = Number(code);
  if (n === 1302 || n === 1303) return { failureClass: 'rate_limited', quotaWindow: false };
  if (n >= 1308 && n <= 1310) return { failureClass: 'rate_limited', quotaWindow: true };
  if (n === 1113) return { failureClass: 'auth_invalid', quotaWindow: false };
  if (n >= 1000 && n <= 1004) return { failureClass: 'auth_invalid', quotaWindow: false };
  if (n === 1211) return { failureClass: 'model_unavailable', quotaWindow: false };
  return undefined;
}

function contentItems(message: unknown): Json[] {
  const content = (message as Json | undefined)?.content;
  return Array.isArray(content) ? (content as Json[]) : [];
}

function parseLine(line: string, kit: ProviderKit): AgentEvent[] {
  if (!line.startsWith('{')) return [];
  const e = kit.parseJson(line) as Json | undefined;
  if (!e || typeof e.type !== 'string') return [];
  switch (e.type) {
    case 'system':
      if (e.subtype === 'init') return [{ kind: 'progress', activity: 'init', detail: kit.text(e.model, '') }];
      if (e.subtype === 'api_retry') {
        const status = typeof e.error_status === 'number' ? e.error_status : undefined;
        const failureClass =
          ERROR_CLASS[kit.text(e.error)] ?? (status ? kit.httpStatusClass(status) : undefined) ?? 'network';
        const delay = typeof e.retry_delay_ms === 'number' ? Math.ceil(e.retry_delay_ms / 1000) : undefined;
        return [
          {
            kind: 'retry',
            failureClass,
            attempt: Number(e.attempt) || undefined,
            retryAfterSec: delay,
            detail: `api_retry ${kit.text(e.attempt)}/${kit.text(e.max_retries)}: ${kit.text(e.error)}${status ? ` (${status})` : ''}`,
          },
        ];
      }
      return [];
    case 'assistant': {
      const events: AgentEvent[] = [];
      if (typeof e.error === 'string') events.push({ kind: 'error', detail: e.error });
      for (const item of contentItems(e.message)) {
        if (item.type === 'tool_use')
          events.push({
            kind: 'progress',
            activity: 'tool_call',
            detail: kit.text(item.name, 'tool'),
            input: kit.callInput(item.input),
          });
        else if (item.type === 'thinking') events.push({ kind: 'progress', activity: 'thinking' });
        else if (item.type === 'text')
          events.push({ kind: 'progress', activity: 'message', detail: kit.firstLine(kit.text(item.text, ''), 120) });
      }
      return events;
    }
    case 'user':
      return contentItems(e.message)
        .filter((item) => item.type === 'tool_result')
        .map((item): AgentEvent => {
          const text = typeof item.content === 'string' ? item.content : JSON.stringify(item.content ?? '');
          if (item.is_error === true && REFUSED.test(text))
            return { kind: 'writes_refused', detail: kit.firstLine(text, 160) };
          return { kind: 'progress', activity: 'tool_result' };
        });
    case 'result': {
      const events: AgentEvent[] = [];
      const usage = (e.usage ?? {}) as Json;
      const num = (v: unknown) => (typeof v === 'number' ? v : 0);
      events.push({
        kind: 'usage',
        mode: 'total',
        inputTokens:
          num(usage.input_tokens) + num(usage.cache_creation_input_tokens) + num(usage.cache_read_input_tokens),
        outputTokens: num(usage.output_tokens),
        costUsd: typeof e.total_cost_usd === 'number' ? e.total_cost_usd : undefined,
      });
      for (const denial of Array.isArray(e.permission_denials) ? (e.permission_denials as Json[]) : []) {
        events.push({ kind: 'writes_refused', detail: `${kit.text(denial.tool_name, 'tool')} denied` });
      }
      events.push({
        kind: 'final',
        ok: e.is_error !== true && e.subtype === 'success',
        text: typeof e.result === 'string' ? e.result : undefined,
      });
      return events;
    }
    default:
      return [];
  }
}

/** A tool_result's content: Claude gives a string, or a list of blocks whose text parts carry it. */
function toolResultText(content: unknown, kit: ProviderKit): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Json[])
    .filter((block) => block?.type === 'text')
    .map((block) => kit.text(block.text, ''))
    .join('\n');
}

/** Why a tool call did not run at all: Claude's refusal of a tool the permission mode does not allow. */
const REFUSED = /haven't granted|permission/i;

/** A Bash call's command joins its result (the next user turn) unless the call was refused. */
function toolTranscript(kit: ProviderKit): ToolTranscriptReader {
  const commands = new Map<string, string>();
  return (line) => {
    if (!line.startsWith('{')) return undefined;
    const e = kit.parseJson(line) as Json | undefined;
    if (e?.type !== 'assistant' && e?.type !== 'user') return undefined;
    const texts: string[] = [];
    for (const item of contentItems(e.message)) {
      if (e.type === 'assistant' && item.type === 'tool_use' && item.name === 'Bash')
        commands.set(kit.text(item.id, ''), kit.text((item.input as Json | undefined)?.command, ''));
      if (e.type === 'user' && item.type === 'tool_result') {
        const output = toolResultText(item.content, kit);
        const command = commands.get(kit.text(item.tool_use_id, ''));
        const ran = command && !(item.is_error === true && REFUSED.test(output));
        texts.push(ran ? `${command}\n${output}` : output);
      }
    }
    return texts.length > 0 ? texts.join('\n') : undefined;
  };
}

function lastResult(lines: string[], kit: ProviderKit): Json | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i];
    if (!line.includes('"type":"result"')) continue;
    const e = kit.parseJson(line) as Json | undefined;
    if (e?.type === 'result') return e;
  }
  return undefined;
}

const NEXT: Partial<Record<FailureClass, string>> = {
  auth_missing: 'set_CC_GLM_AUTH_TOKEN_or_CC_GLM_TOKEN_FILE_or_ZAI_API_KEY',
  auth_invalid: 'check_the_zai_key_and_balance_or_switch_provider',
  rate_limited: 'retry_after_reset_or_switch_provider',
  model_unavailable: 'use_another_allowed_glm_model',
  binary_missing: 'npm_install_-g_@anthropic-ai/claude-code@2.1.197',
  permission_denied: 'use_permission_mode_acceptEdits_or_set_IS_SANDBOX=1',
};

/** How cc-glm's failures are named: reason codes and next actions (see FailureVocabulary). */
export const FAILURE_VOCABULARY: FailureVocabulary = { prefix: PREFIX, nextActions: NEXT };

function classified(
  failureClass: FailureClass,
  summary: string,
  kit: ProviderKit,
  extra?: Partial<FailureClassification>,
): FailureClassification {
  return kit.classified(FAILURE_VOCABULARY, failureClass, summary, extra);
}

/**
 * Decided from the parsed result (api_error_status, subtype, result text), never from a bare
 * "429" anywhere in the log. Claude exits 1 for every failure, so the exit code carries nothing.
 */
export function classifyFailure(exit: AgentExit, kit: ProviderKit): FailureClassification {
  const all = [...exit.stdoutTail, ...exit.stderrTail].join('\n');
  if (exit.spawnErrorCode === 'ENOENT' || /claude native binary not installed/.test(all)) {
    return classified('binary_missing', 'claude is not installed (or its native binary is missing)', kit);
  }
  if (/cannot be used with root\/sudo privileges/.test(all)) {
    return classified('permission_denied', 'Claude Code refuses bypass permissions as root', kit);
  }
  const result = lastResult(exit.stdoutTail, kit);
  const fatal = exit.events.findLast((e) => e.kind === 'fatal');
  if (!result) {
    if (fatal?.kind === 'fatal') return classified(fatal.failureClass, fatal.detail, kit);
    const lastRetry = exit.events.findLast((e) => e.kind === 'retry');
    if (lastRetry?.kind === 'retry' && lastRetry.failureClass)
      return classified(lastRetry.failureClass, lastRetry.detail ?? 'retries exhausted', kit);
    return classified('crashed', exit.stderrTail.at(-1) ?? `claude exited ${exit.exitCode ?? exit.signal}`, kit);
  }
  const text = typeof result.result === 'string' ? result.result : '';
  const status = typeof result.api_error_status === 'number' ? result.api_error_status : undefined;
  if (result.subtype === 'error_max_turns')
    return classified('turn_limit', text || 'reached the maximum number of turns', kit);
  if (result.subtype === 'error_max_budget_usd')
    return classified('turn_limit', text || 'reached the budget limit', kit, {
      reasonCode: `${PREFIX}_budget_exhausted`,
    });
  const zai = /"code"\s*:\s*"?(1\d{3})"?/.exec(text);
  const zaiClass = zai ? zaiCodeClass(zai[1]) : undefined;
  const resetAt = kit.findResetAt(text, ZAI_UTC_OFFSET_MINUTES);
  if (
    status === 429 ||
    zaiClass?.failureClass === 'rate_limited' ||
    /Usage limit reached|Rate limit reached/i.test(text)
  ) {
    const quota = zaiClass?.quotaWindow || /Usage limit reached|reset at/i.test(text);
    return classified('rate_limited', text, kit, {
      resetAt,
      retryAfterSec: resetAt
        ? Math.max(0, Math.round((Date.parse(resetAt) - Date.now()) / 1000))
        : quota
          ? undefined
          : 60,
      reasonCode: quota ? `${PREFIX}_quota_exhausted` : `${PREFIX}_rate_limited`,
    });
  }
  if (zaiClass) return classified(zaiClass.failureClass, text, kit);
  // Claude Code compacts a long conversation itself; this is what it says when even that cannot fit
  if (/prompt is too long/i.test(text)) return classified('context_exceeded', text, kit);
  if (/insufficient balance|in arrears/i.test(text))
    return classified('auth_invalid', text, kit, { nextAction: 'top_up_the_zai_account_or_switch_provider' });
  if (status === 401 || status === 403) return classified('auth_invalid', text, kit);
  if (status === undefined && /Not logged in|Please run \/login|Invalid API key/i.test(text))
    return classified('auth_missing', text, kit);
  if (status === 404 || /issue with the selected model|model_not_found/i.test(text))
    return classified('model_unavailable', text, kit);
  if (status !== undefined && status >= 500) return classified('server_error', text, kit);
  if (/Unable to connect to API|ConnectionRefused|ENOTFOUND|ECONNRESET/i.test(text))
    return classified('network', text, kit);
  if (/Request timed out|timed out/i.test(text)) return classified('timeout', text, kit);
  // HTTP 200 that is no Messages API answer: a web page or a proxy's reply at the base URL
  if (/empty or malformed response/i.test(text)) return classified('server_error', text, kit);
  if (status !== undefined) return classified(kit.httpStatusClass(status) ?? 'crashed', text, kit);
  return classified('crashed', text || `claude exited ${exit.exitCode ?? exit.signal}`, kit);
}

export const provider: ProviderRuntime = {
  id: PROVIDER_ID,
  createParser(_options, kit) {
    return { parse: (line) => parseLine(line, kit) };
  },
  classifyFailure,
  toolTranscript,
};
