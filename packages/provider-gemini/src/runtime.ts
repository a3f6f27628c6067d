/**
 * Reading `gemini -p … -o stream-json` (verified against @google/gemini-cli 0.61.0, recordings in
 * ../fixtures). Gemini exits with the HTTP status mod 256 for API errors and with its own codes
 * otherwise (41 auth, 53 turn limit, 55 untrusted folder). Loaded by the dx-runner watcher, so it
 * imports nothing at run time.
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
const PREFIX = 'gemini';
/** Seed reason codes: Gemini's quota and capacity failures are `gemini_capacity_exhausted`. */
const REASON_OVERRIDES: Partial<Record<FailureClass, string>> = { rate_limited: 'capacity_exhausted' };

type Json = Record<string, unknown>;

/** Exit codes that are an HTTP status & 255. */
const HTTP_EXIT: Record<number, number> = { 144: 400, 145: 401, 147: 403, 148: 404, 173: 429, 244: 500, 247: 503 };

/** What the model said since its last tool call: the final answer that the result event lacks. */
interface ParserState {
  assistantText: string;
}

/** A tool_result of a tool that never ran: not registered in this approval mode, or denied. */
function refused(e: Json, kit: ProviderKit): boolean {
  const error = (e.error ?? {}) as Json;
  return (
    e.status === 'error' &&
    (error.type === 'tool_not_registered' ||
      /not found|permission|denied|not allowed/i.test(kit.text(error.message, '')))
  );
}

function parseLine(line: string, stream: 'stdout' | 'stderr', kit: ProviderKit, state: ParserState): AgentEvent[] {
  if (stream === 'stderr') {
    const attempt = /^Attempt (\d+) failed(?: with status (\d+))?[.:]\s*(.*)$/.exec(line);
    if (!attempt) return [];
    const text = attempt[3] ?? '';
    const status = attempt[2] ? Number(attempt[2]) : undefined;
    const failureClass: FailureClass = /exhausted|quota|RESOURCE_EXHAUSTED/i.test(text)
      ? 'rate_limited'
      : /overloaded/i.test(text)
        ? 'server_error'
        : ((status ? kit.httpStatusClass(status) : undefined) ?? 'network');
    return [{ kind: 'retry', failureClass, attempt: Number(attempt[1]), detail: kit.firstLine(text) }];
  }
  if (!line.startsWith('{')) return [];
  const e = kit.parseJson(line) as Json | undefined;
  if (!e || typeof e.type !== 'string') return [];
  switch (e.type) {
    case 'init':
      return [{ kind: 'progress', activity: 'init', detail: kit.text(e.model, '') }];
    case 'message': {
      if (e.role !== 'assistant') return [];
      const content = kit.text(e.content, '');
      state.assistantText = e.delta === true ? state.assistantText + content : content;
      return [{ kind: 'progress', activity: 'message', detail: kit.firstLine(content, 120) }];
    }
    case 'tool_use':
      state.assistantText = '';
      return [
        {
          kind: 'progress',
          activity: 'tool_call',
          detail: kit.text(e.tool_name, 'tool'),
          input: kit.callInput(e.parameters),
        },
      ];
    case 'tool_result': {
      const error = (e.error ?? {}) as Json;
      // the default approval mode does not even register the write tools: the run "succeeds" anyway
      if (refused(e, kit)) {
        return [
          { kind: 'writes_refused', detail: kit.firstLine(kit.text(error.message ?? e.output, 'tool refused'), 160) },
        ];
      }
      return [{ kind: 'progress', activity: 'tool_result' }];
    }
    case 'error':
      return [{ kind: 'error', detail: kit.firstLine(kit.text(e.message, 'error')) }];
    case 'result': {
      const stats = (e.stats ?? {}) as Json;
      const n = (v: unknown) => (typeof v === 'number' ? v : undefined);
      const error = (e.error ?? {}) as Json;
      return [
        { kind: 'usage', mode: 'total', inputTokens: n(stats.input_tokens), outputTokens: n(stats.output_tokens) },
        {
          kind: 'final',
          ok: e.status === 'success',
          text: e.status === 'success' ? state.assistantText : kit.text(error.message, ''),
        },
      ];
    }
    default:
      return [];
  }
}

function resultError(lines: string[], kit: ProviderKit): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i].includes('"type":"result"')) continue;
    const e = kit.parseJson(lines[i]) as Json | undefined;
    if (e?.type === 'result' && e.status === 'error') return kit.text(((e.error ?? {}) as Json).message);
  }
  return undefined;
}

const NEXT: Partial<Record<FailureClass, string>> = {
  auth_missing: 'set_GEMINI_API_KEY',
  auth_invalid: 'check_GEMINI_API_KEY',
  rate_limited: 'retry_backoff_or_switch_to_opencode_or_cc_glm',
  model_unavailable: 'use_another_allowed_gemini_model',
  binary_missing: 'npm_install_-g_@google/gemini-cli@0.61.0',
  untrusted_workspace: 'pass_--skip-trust_or_set_GEMINI_CLI_TRUST_WORKSPACE=true',
};

/** How Gemini CLI's failures are named: reason codes and next actions (see FailureVocabulary). */
export const FAILURE_VOCABULARY: FailureVocabulary = {
  prefix: PREFIX,
  reasonOverrides: REASON_OVERRIDES,
  nextActions: NEXT,
};

function classified(
  failureClass: FailureClass,
  summary: string,
  kit: ProviderKit,
  extra?: Partial<FailureClassification>,
): FailureClassification {
  return kit.classified(FAILURE_VOCABULARY, failureClass, summary, extra);
}

/** Decided from Gemini's exit code (its documented meaning) and the result event's error JSON. */
export function classifyFailure(exit: AgentExit, kit: ProviderKit): FailureClassification {
  const stderr = exit.stderrTail.join('\n');
  if (exit.spawnErrorCode === 'ENOENT') return classified('binary_missing', 'gemini is not installed', kit);
  const fatal = exit.events.findLast((e) => e.kind === 'fatal');
  if (fatal?.kind === 'fatal') return classified(fatal.failureClass, fatal.detail, kit);
  const code = exit.exitCode ?? -1;
  const errorEvent = exit.events.findLast((e) => e.kind === 'error');
  const message =
    resultError(exit.stdoutTail, kit) ||
    (errorEvent?.kind === 'error' ? errorEvent.detail : undefined) ||
    exit.stderrTail.findLast((l) => /Error/.test(l)) ||
    '';
  if (code === 41 || /Please set an Auth method|must specify the GEMINI_API_KEY|Invalid auth method/i.test(stderr)) {
    return classified(
      'auth_missing',
      /GEMINI_API_KEY/.test(stderr) ? 'GEMINI_API_KEY is not set' : 'no Gemini auth method configured',
      kit,
    );
  }
  if (code === 55 || /not running in a trusted directory/.test(stderr))
    return classified('untrusted_workspace', 'Gemini CLI refuses an untrusted folder', kit);
  if (code === 53) return classified('turn_limit', message || 'turn limit reached', kit);
  const embedded = /"code"\s*:\s*(\d{3})/.exec(message);
  const status = HTTP_EXIT[code] ?? (embedded ? Number(embedded[1]) : undefined);
  if (/exhausted your daily quota|TerminalQuotaError/i.test(message + stderr)) {
    return classified('rate_limited', message || 'daily quota exhausted', kit, {
      reasonCode: `${PREFIX}_capacity_exhausted`,
    });
  }
  if (status === 429 || /Resource has been exhausted|RESOURCE_EXHAUSTED|RetryableQuotaError: Resource/i.test(message)) {
    const retry = /Please retry in (\d+(?:\.\d+)?)s/.exec(message + stderr);
    return classified('rate_limited', message, kit, { retryAfterSec: retry ? Math.ceil(Number(retry[1])) : undefined });
  }
  if (status === 503 || /model is overloaded/i.test(message))
    return classified('server_error', message, kit, {
      reasonCode: `${PREFIX}_capacity_exhausted`,
      nextAction: NEXT.rate_limited,
    });
  if (status === 400 && /API key not valid|API_KEY_INVALID/i.test(message + stderr))
    return classified('auth_invalid', message, kit);
  const overflow = /The input token count \(\d+\) exceeds the maximum number of tokens allowed \(\d+\)/i.exec(message);
  if (overflow) return classified('context_exceeded', overflow[0], kit);
  if (status === 401 || status === 403) return classified('auth_invalid', message, kit);
  if (/ModelNotFoundError|is not found for API version|not supported for generateContent/i.test(message + stderr))
    return classified('model_unavailable', message, kit);
  // a stream with no text nor thoughts: Gemini ends `status: error` (exit 0) and calls it transient
  if ((status !== undefined && status >= 500) || /returned an empty response/i.test(message))
    return classified('server_error', message, kit);
  // HTTP 200 whose body is no stream of JSON: a web page or a proxy's reply at the base URL
  if (/Incomplete JSON segment/i.test(message))
    return classified(
      'server_error',
      `${message}: the endpoint's answer is not the Gemini API's (a web page or a proxy at the base URL?)`,
      kit,
    );
  // refused, or cut mid-answer: undici ends the stream "terminated" (UND_ERR_SOCKET, "other side closed")
  if (
    /fetch failed|ECONNREFUSED|ENOTFOUND|ECONNRESET|Unable to connect|API Error: terminated|UND_ERR_SOCKET/i.test(
      message + stderr,
    )
  )
    return classified('network', message || 'cannot reach the Gemini API', kit);
  return classified('crashed', message || `gemini exited ${exit.exitCode ?? exit.signal}`, kit);
}

/** A shell call's command joins its result (matched by tool_id) unless the tool was refused. */
function toolTranscript(kit: ProviderKit): ToolTranscriptReader {
  const commands = new Map<string, string>();
  return (line) => {
    if (!line.startsWith('{')) return undefined;
    const e = kit.parseJson(line) as Json | undefined;
    if (e?.type === 'tool_use' && e.tool_name === 'run_shell_command')
      commands.set(kit.text(e.tool_id, ''), kit.text(((e.parameters ?? {}) as Json).command, ''));
    if (e?.type !== 'tool_result') return undefined;
    const output = kit.text(e.output, '');
    const command = commands.get(kit.text(e.tool_id, ''));
    const ran = command && !refused(e, kit);
    return (ran ? `${command}\n${output}` : output) || undefined;
  };
}

export const provider: ProviderRuntime = {
  id: PROVIDER_ID,
  createParser(_options, kit) {
    const state: ParserState = { assistantText: '' };
    return { parse: (line, stream) => parseLine(line, stream, kit, state) };
  },
  classifyFailure,
  toolTranscript,
};
