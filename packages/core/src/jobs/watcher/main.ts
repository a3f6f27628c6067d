/**
 * Entry point of the per-job watcher process, spawned detached by `dx-runner start`. It reads its
 * WatcherSpec from stdin and answers on fd 3 once the agent is running.
 */
import fs from 'node:fs';
import { CappedLog, sealLog } from '../capped-log.js';
import { JobWatcher, type DiagnosticsSink } from './run.js';
import { parseWatcherSpec, type WatcherAck } from './spec.js';

const ACK_FD = 3;

let acked = false;
function ack(message: WatcherAck): void {
  if (acked) return;
  acked = true;
  try {
    fs.writeSync(ACK_FD, `${JSON.stringify(message)}\n`);
    fs.closeSync(ACK_FD);
  } catch {
    // start gave up waiting; the outcome file still tells the story
  }
}

const chunks: Buffer[] = [];
for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
// `start` spawns the watcher before it has validated anything; an empty spec means "not needed".
if (chunks.length === 0) process.exit(0);
const parsed = parseWatcherSpec(Buffer.concat(chunks).toString('utf8'));
if (!parsed.ok) {
  // nothing was started and no job file is trusted yet: tell `start`, which reports launch_preparation_failed
  ack({ ok: false, reasonCode: 'invalid_watcher_spec', failureClass: 'crashed', message: parsed.message, exitCode: 1 });
  process.exit(1);
}
const { spec } = parsed;
process.title = `dx-runner-watcher ${spec.provider}/${spec.beads}`;
// diagnostics and crash reports go to the job's watcher log (stdout/stderr are /dev/null), capped like the job log
let diagnostics: DiagnosticsSink;
try {
  sealLog(spec.paths.watcherLog, undefined);
  const log = new CappedLog(spec.paths.watcherLog, { capBytes: spec.limits.logCapBytes, buffered: false });
  diagnostics = log;
  process.on('exit', () => log.seal());
} catch {
  // never through a symlink; without a diagnostics log the job is still supervised
  diagnostics = { write: () => undefined };
}
const supervising: { watcher?: JobWatcher } = {};
process.on('uncaughtException', (err) => {
  // nothing may run unsupervised: the agent goes down with its watcher
  supervising.watcher?.killAgentNow();
  ack({ ok: false, reasonCode: 'watcher_crashed', failureClass: 'crashed', message: err.message, exitCode: 1 });
  diagnostics.write(`watcher crashed: ${err.stack ?? err.message}\n`);
  process.exit(70);
});
supervising.watcher = new JobWatcher(spec, ack, diagnostics);
await supervising.watcher.run();
