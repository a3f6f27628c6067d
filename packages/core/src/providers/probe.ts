import type { AgentEvent, ProviderPreflight } from './contract.js';
import type { ModelProbe } from './hook.js';
import { providerKit as kit } from './kit.js';
import { runStreaming } from './streaming.js';

/** See CoreServices.runModelProbe: one place decides answered / timed out / failed for every provider. */
export async function runModelProbe(probe: ModelProbe): Promise<ProviderPreflight> {
  const parser = probe.runtime.createParser(probe.parserOptions ?? {}, kit);
  const events: AgentEvent[] = [];
  const started = Date.now();
  const run = await runStreaming(probe.binary.path, probe.args, {
    env: probe.env,
    cwd: probe.cwd,
    timeoutMs: probe.timeoutMs,
    onLine: (line, stream) => {
      const found = parser.parse(line, stream);
      events.push(...found);
      return found.some((e) => e.kind === 'fatal');
    },
  });
  if (!run.stopped && events.some((e) => e.kind === 'final' && e.ok))
    return kit.probeAnswered(probe.binary, probe.model, started);
  const failure =
    run.timedOut && !events.some((e) => e.kind === 'fatal')
      ? kit.classified(probe.vocabulary, 'timeout', `no answer within ${probe.timeoutMs} ms`)
      : probe.runtime.classifyFailure(
          {
            exitCode: run.exitCode,
            signal: run.signal,
            spawnErrorCode: run.errorCode,
            events: events.filter((e) => e.kind !== 'progress'),
            stdoutTail: run.stdout,
            stderrTail: run.stderr,
          },
          kit,
        );
  return kit.probeFailed(probe.binary, probe.model, failure);
}
