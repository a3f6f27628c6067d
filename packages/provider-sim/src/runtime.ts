/** Parser and classifier of the simulated agent; loaded by the dx-runner watcher. */
import type {
  AgentEvent,
  AgentExit,
  EventParser,
  FailureClass,
  FailureClassification,
  ProviderKit,
  ProviderRuntime,
  ToolTranscriptReader,
} from '@dx/core';
import { provider as ccGlm } from '@dx/provider-cc-glm/runtime';
import { provider as gemini } from '@dx/provider-gemini/runtime';
import { provider as opencode } from '@dx/provider-opencode/runtime';
import type { Imitated } from './scenario.js';

import { PROVIDER_ID } from './id.js';

export { PROVIDER_ID };

/** A simulation imitating a real CLI is read and classified by that CLI's own provider. */
const IMITATED_RUNTIMES: Record<Imitated, ProviderRuntime> = { opencode, 'cc-glm': ccGlm, gemini };

const ACTIVITY: Record<string, 'init' | 'message' | 'tool_call'> = {
  init: 'init',
  message: 'message',
  tool_use: 'tool_call',
};

interface SimEvent {
  sim: 1;
  type: string;
  text?: string;
  tool?: string;
  detail?: string;
  ok?: boolean;
  class?: FailureClass;
  retry_after?: number;
  input?: number;
  output?: number;
  cost?: number;
}

function simEvent(line: string): SimEvent | undefined {
  if (!line.startsWith('{"sim":1')) return undefined;
  try {
    return JSON.parse(line) as SimEvent;
  } catch {
    return undefined;
  }
}

function parseSimEvent(e: SimEvent): AgentEvent[] {
  const activity = ACTIVITY[e.type];
  if (activity)
    return [
      {
        kind: 'progress',
        activity,
        detail: e.tool ? `${e.tool} ${e.detail ?? ''}`.trim() : e.text,
        // what the simulated call worked on: the same tool on the same thing is the same call
        input: activity === 'tool_call' ? (e.detail ?? '') : undefined,
      },
    ];
  switch (e.type) {
    case 'retry':
      return [
        { kind: 'retry', failureClass: e.class, retryAfterSec: e.retry_after, detail: `retrying: ${e.class ?? ''}` },
      ];
    case 'usage':
      return [{ kind: 'usage', mode: 'add', inputTokens: e.input, outputTokens: e.output, costUsd: e.cost }];
    case 'result':
      return [{ kind: 'final', ok: e.ok !== false, text: e.text }];
    default:
      return [];
  }
}

/**
 * The watcher runs one job, so the runtime learns which CLI this job imitates when its parser is
 * created and its classifier (which takes no options) reads it from there.
 */
let imitated: ProviderRuntime | undefined;

export const provider: ProviderRuntime = {
  id: PROVIDER_ID,
  createParser(options: Record<string, unknown>, kit: ProviderKit): EventParser {
    const as = typeof options.as === 'string' ? IMITATED_RUNTIMES[options.as as Imitated] : undefined;
    imitated = as;
    const delegate = as?.createParser(options, kit);
    return {
      parse(line, stream) {
        const e = simEvent(line);
        if (e) return parseSimEvent(e);
        return delegate ? delegate.parse(line, stream) : [];
      },
    };
  },
  /** The simulator's own tools return nothing; lines of an imitated CLI are read by that CLI's provider. */
  toolTranscript(kit: ProviderKit): ToolTranscriptReader {
    const readers = Object.values(IMITATED_RUNTIMES).flatMap((runtime) => runtime.toolTranscript?.(kit) ?? []);
    return (line) => {
      if (simEvent(line)) return undefined;
      const texts = readers.map((read) => read(line));
      return texts.find((text) => text !== undefined);
    };
  },
  classifyFailure(exit: AgentExit, kit: ProviderKit): FailureClassification {
    if (imitated) return imitated.classifyFailure(exit, kit);
    if (exit.spawnErrorCode)
      return {
        reasonCode: 'sim_binary_missing',
        failureClass: 'binary_missing',
        summary: `the simulated agent could not start (${exit.spawnErrorCode})`,
      };
    if (exit.signal)
      return {
        reasonCode: 'sim_crashed',
        failureClass: 'crashed',
        summary: `the simulated agent died of ${exit.signal}`,
      };
    return {
      reasonCode: 'sim_process_exit_nonzero',
      failureClass: 'crashed',
      summary: kit.text(exit.stderrTail.at(-1), `the simulated agent exited ${exit.exitCode}`),
    };
  },
};
