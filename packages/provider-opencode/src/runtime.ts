/**
 * Reading `opencode run --format json --print-logs` (verified against opencode-ai 1.18.33,
 * recordings in ../fixtures): JSON events on stdout, log lines on stderr. OpenCode has no retry
 * knob and retries even a bad key for over a minute, so the parser bounds it: an error that
 * retrying cannot fix is fatal at once, anything else after `maxRetries` retries. Loaded by the
 * dx-runner watcher, so it imports nothing at run time.
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
const PREFIX = 'opencode';
const REASON_OVERRIDES: Partial<Record<FailureClass, string>> = {
  auth_missing: 'auth_blocked',
  auth_invalid: 'auth_blocked',
};
/** Z.ai (zai-coding-plan, zhipuai…) reports quota resets in China Standard Time. */
const ZAI_UTC_OFFSET_MINUTES = 8 * 60;

type Json = Record<string, unknown>;

const UNREADABLE_ANSWER =
  'the endpoint answered with nothing OpenCode could read (HTTP 200, but no model answer: a web page or a proxy at the base URL?)';

export interface OpencodeRuntimeOptions {
  maxRetries?: number;
  /** Whether credentials for the model's provider were found at launch (tells "no key" from "no model"). */
  credentialsPresent?: boolean;
}

/** What an error message says, for errors seen in log lines and in the final error event. */
export function messageClass(message: string): { failureClass: FailureClass; fatal: boolean } {
  // each API's words for a prompt longer than the model's context window (OpenAI-compatible,
  // Anthropic, Gemini), and OpenCode's own name for it
  if (
    /maximum context length|context_length_exceeded|prompt is too long|input token count .* exceeds the maximum|ContextOverflowError/i.test(
      message,
    )
  )
    return { failureClass: 'context_exceeded', fatal: true };
  if (
    /Incorrect API key|invalid[_ ]api[_ ]key|Unauthorized|Forbidden|authentication|does not have permission|API key not valid/i.test(
      message,
    )
  )
    return { failureClass: 'auth_invalid', fatal: true };
  if (/does not exist|Model not found|is not found for|model_not_found|ProviderModelNotFoundError/i.test(message))
    return { failureClass: 'model_unavailable', fatal: true };
  if (/Usage limit reached|insufficient balance|in arrears|reset at|exhausted your/i.test(message))
    return { failureClass: 'rate_limited', fatal: true };
  if (/rate.?limit|Too Many Requests|\b429\b/i.test(message)) return { failureClass: 'rate_limited', fatal: false };
  // a connection refused or cut mid-answer ("Connection reset by server", metadata code ECONNRESET)
  if (
    /Cannot connect to API|Unable to connect|ECONNREFUSED|ENOTFOUND|ECONNRESET|Connection reset|fetch failed|typo in the url/i.test(
      message,
    )
  )
    return { failureClass: 'network', fatal: false };
  if (/timed? ?out/i.test(message)) return { failureClass: 'timeout', fatal: false };
  return { failureClass: 'server_error', fatal: false };
}

/** `key="quoted value"` or key=value from a logfmt line. */
function logField(line: string, key: string): string | undefined {
  const m = new RegExp(`(?:^|\\s)${key.replace(/\./g, '\\.')}=(?:"((?:[^"\\\\]|\\\\.)*)"|(\\S+))`).exec(line);
  if (!m) return undefined;
  return m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2];
}

function createParser(options: OpencodeRuntimeOptions, kit: ProviderKit) {
  const maxRetries = options.maxRetries ?? 3;
  let attempts = 0;
  let lastText = '';
  let fatalSent = false;
  /** Parts (text, reasoning, tool calls) the step in progress has produced. */
  let stepParts = 0;
  const fatal = (failureClass: FailureClass, detail: string): AgentEvent[] => {
    if (fatalSent) return [];
    fatalSent = true;
    return [{ kind: 'fatal', failureClass, detail, resetAt: kit.findResetAt(detail, ZAI_UTC_OFFSET_MINUTES) }];
  };
  /** A request that failed: fatal at once when retrying cannot fix it, else a retry until the bound. */
  const failedAttempt = (failureClass: FailureClass, text: string, isFatal: boolean): AgentEvent[] => {
    attempts++;
    if (isFatal) return fatal(failureClass, text);
    if (attempts - 1 >= maxRetries) return fatal(failureClass, `${text} (gave up after ${attempts} attempts)`);
    return [{ kind: 'retry', failureClass, attempt: attempts, detail: kit.firstLine(text) }];
  };

  function stdoutLine(line: string): AgentEvent[] {
    if (!line.startsWith('{')) return [];
    const e = kit.parseJson(line) as Json | undefined;
    if (!e || typeof e.type !== 'string') return [];
    const part = (e.part ?? {}) as Json;
    switch (e.type) {
      case 'step_start':
        stepParts = 0;
        return [{ kind: 'progress', activity: 'step' }];
      case 'text':
        stepParts++;
        lastText = kit.text(part.text, '');
        return [{ kind: 'progress', activity: 'message', detail: kit.firstLine(lastText, 120) }];
      case 'reasoning':
        stepParts++;
        return [{ kind: 'progress', activity: 'thinking' }];
      case 'tool_use': {
        stepParts++;
        const state = (part.state ?? {}) as Json;
        const events: AgentEvent[] = [
          {
            kind: 'progress',
            activity: 'tool_call',
            detail: kit.text(part.tool, 'tool'),
            input: kit.callInput(state.input),
          },
        ];
        const error = typeof state.error === 'string' ? state.error : '';
        if (state.status === 'error' && REFUSED.test(error))
          events.push({ kind: 'writes_refused', detail: kit.firstLine(error, 160) });
        else events.push({ kind: 'progress', activity: 'tool_result' });
        return events;
      }
      case 'step_finish': {
        const tokens = (part.tokens ?? {}) as Json;
        const cache = (tokens.cache ?? {}) as Json;
        const n = (v: unknown) => (typeof v === 'number' ? v : 0);
        const events: AgentEvent[] = [
          {
            kind: 'usage',
            mode: 'add',
            inputTokens: n(tokens.input) + n(cache.read) + n(cache.write),
            outputTokens: n(tokens.output) + n(tokens.reasoning),
            costUsd: typeof part.cost === 'number' ? part.cost : undefined,
          },
        ];
        if (part.reason === 'stop') events.push({ kind: 'final', ok: true, text: lastText });
        // an answer OpenCode could not read at all (HTTP 200, but a web page or a proxy's reply where
        // the API should be): the step ends "unknown" with nothing in it, and OpenCode asks again at
        // once, several times a second, for as long as it runs — each such step is a failed request
        else if (part.reason === 'unknown' && stepParts === 0 && n(tokens.input) + n(tokens.output) === 0)
          events.push(...failedAttempt('server_error', UNREADABLE_ANSWER, false));
        return events;
      }
      case 'error': {
        const data = (((e.error ?? {}) as Json).data ?? {}) as Json;
        return [
          { kind: 'error', detail: kit.firstLine(kit.text(data.message ?? ((e.error ?? {}) as Json).name, 'error')) },
        ];
      }
      default:
        return [];
    }
  }

  function stderrLine(line: string): AgentEvent[] {
    if (/permission requested: .*auto-rejecting/.test(line))
      return [{ kind: 'writes_refused', detail: kit.firstLine(line, 160) }];
    if (!line.includes('level=ERROR')) return [];
    const message = logField(line, 'message');
    const error = logField(line, 'error.error') ?? logField(line, 'error') ?? '';
    if (/ProviderModelNotFoundError/.test(error) || /ProviderModelNotFoundError/.test(logField(line, 'cause') ?? '')) {
      // OpenCode says "model not found" both for an unknown model and for a provider without credentials
      return fatal(
        options.credentialsPresent === false ? 'auth_missing' : 'model_unavailable',
        kit.firstLine(error || line),
      );
    }
    const agent = logField(line, 'agent');
    if (message !== 'stream error' || agent === 'title') return [];
    const text = error.replace(/^AI_\w+Error:\s*/, '');
    const { failureClass, fatal: isFatal } = messageClass(text);
    // OpenCode answers a conversation grown past the context window by compacting it and asking
    // again: a retry, bounded like the others (a compaction that never makes it fit would loop).
    // The compaction's own overflow is the end.
    if (failureClass === 'context_exceeded') return failedAttempt(failureClass, text, agent === 'compaction');
    return failedAttempt(failureClass, text, isFatal);
  }

  return {
    parse: (line: string, stream: 'stdout' | 'stderr') => (stream === 'stdout' ? stdoutLine(line) : stderrLine(line)),
  };
}

function lastErrorEvent(lines: string[], kit: ProviderKit): Json | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].includes('"type":"error"')) continue;
    const e = kit.parseJson(lines[i]) as Json | undefined;
    if (e?.type === 'error') return (e.error ?? {}) as Json;
  }
  return undefined;
}

const NEXT: Partial<Record<FailureClass, string>> = {
  auth_missing: 'set_ZHIPU_API_KEY_or_run_opencode_auth_login',
  auth_invalid: 'check_api_key_and_quota_or_use_cc_glm',
  rate_limited: 'retry_backoff_or_switch_to_gemini_or_cc_glm',
  model_unavailable: 'use_cc_glm_or_gemini',
  binary_missing: 'npm_install_-g_opencode-ai@1.18.33',
};

/** How OpenCode's failures are named: reason codes and next actions (see FailureVocabulary). */
export const FAILURE_VOCABULARY: FailureVocabulary = {
  prefix: PREFIX,
  reasonOverrides: REASON_OVERRIDES,
  nextActions: NEXT,
};

function classified(failureClass: FailureClass, summary: string, kit: ProviderKit): FailureClassification {
  const resetAt = failureClass === 'rate_limited' ? kit.findResetAt(summary, ZAI_UTC_OFFSET_MINUTES) : undefined;
  return kit.classified(FAILURE_VOCABULARY, failureClass, summary, {
    resetAt,
    retryAfterSec: resetAt ? Math.max(0, Math.round((Date.parse(resetAt) - Date.now()) / 1000)) : undefined,
  });
}

/** Decided from the fatal event or OpenCode's final error event (statusCode, message), never a bare "429". */
export function classifyFailure(exit: AgentExit, kit: ProviderKit): FailureClassification {
  const all = [...exit.stdoutTail, ...exit.stderrTail].join('\n');
  if (exit.spawnErrorCode === 'ENOENT' || /opencode-ai's postinstall script was not run/.test(all)) {
    return classified('binary_missing', 'opencode is not installed (or its postinstall did not run)', kit);
  }
  const fatal = exit.events.findLast((e) => e.kind === 'fatal');
  if (fatal?.kind === 'fatal') return classified(fatal.failureClass, fatal.detail, kit);
  const error = lastErrorEvent(exit.stdoutTail, kit);
  if (error) {
    const data = (error.data ?? {}) as Json;
    const message = kit.text(data.message ?? error.name, 'error');
    const status = typeof data.statusCode === 'number' ? data.statusCode : undefined;
    const byStatus = status !== undefined ? kit.httpStatusClass(status) : undefined;
    const metadata = (data.metadata ?? {}) as Json;
    const byMessage = messageClass(`${message} ${kit.text(data.responseBody, '')} ${kit.text(metadata.code, '')}`);
    if (error.name === 'ContextOverflowError' || byMessage.failureClass === 'context_exceeded')
      return classified('context_exceeded', message, kit);
    if (byStatus === 'rate_limited' || byMessage.failureClass === 'rate_limited')
      return classified('rate_limited', message, kit);
    if (byStatus) return classified(byStatus, message, kit);
    if (error.name === 'APIError') return classified(byMessage.failureClass, message, kit);
  }
  const lastRetry = exit.events.findLast((e) => e.kind === 'retry');
  if (lastRetry?.kind === 'retry' && lastRetry.failureClass)
    return classified(lastRetry.failureClass, lastRetry.detail ?? 'retries exhausted', kit);
  return classified(
    'crashed',
    exit.stderrTail.findLast((l) => /error/i.test(l)) ?? `opencode exited ${exit.exitCode ?? exit.signal}`,
    kit,
  );
}

/** Why a tool call did not run at all: OpenCode's rejection of a permission it was not given. */
const REFUSED = /permission|rejected|denied/i;

/** A finished tool call is one line: the bash tool's command (unless refused) and what the tool returned. */
function toolTranscript(kit: ProviderKit): ToolTranscriptReader {
  return (line) => {
    if (!line.startsWith('{')) return undefined;
    const e = kit.parseJson(line) as Json | undefined;
    if (e?.type !== 'tool_use') return undefined;
    const part = (e.part ?? {}) as Json;
    const state = (part.state ?? {}) as Json;
    const error = kit.text(state.error, '');
    const ran = part.tool === 'bash' && !(state.status === 'error' && REFUSED.test(error));
    const command = ran ? kit.text(((state.input ?? {}) as Json).command, '') : '';
    const texts = [command, kit.text(state.output, ''), error].filter(Boolean);
    return texts.length > 0 ? texts.join('\n') : undefined;
  };
}

export const provider: ProviderRuntime = {
  id: PROVIDER_ID,
  createParser: (options, kit) => createParser(options, kit),
  classifyFailure,
  toolTranscript,
};
