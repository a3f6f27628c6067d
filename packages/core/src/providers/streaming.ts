import { spawn } from 'node:child_process';
import { signalsForChild } from '../process/signals.js';
import { setLongTimeout } from '../process/timers.js';
import type { CoreServices, StreamingResult } from './hook.js';

/** See CoreServices.runStreaming. */
export const runStreaming: CoreServices['runStreaming'] = (command, args, options) =>
  new Promise((resolve) => {
    const result: StreamingResult = {
      exitCode: null,
      signal: null,
      stdout: [],
      stderr: [],
      stopped: false,
      timedOut: false,
    };
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const signal = signalsForChild(child);
    // the CLI leads its own group (detached): end it with whatever it started
    const killGroup = () => void signal('SIGKILL', 'group');
    const timer = setLongTimeout(() => {
      result.timedOut = true;
      killGroup();
    }, options.timeoutMs);
    const pending = { stdout: '', stderr: '' };
    const take = (stream: 'stdout' | 'stderr', line: string) => {
      result[stream].push(line);
      if (!result.stopped && options.onLine?.(line, stream)) {
        result.stopped = true;
        killGroup();
      }
    };
    for (const stream of ['stdout', 'stderr'] as const) {
      child[stream].setEncoding('utf8');
      child[stream].on('data', (chunk: string) => {
        const lines = (pending[stream] + chunk).split('\n');
        pending[stream] = lines.pop() ?? '';
        for (const line of lines) take(stream, line);
      });
    }
    child.on('error', (err: NodeJS.ErrnoException) => {
      timer.clear();
      result.errorCode = err.code;
      resolve(result);
    });
    child.on('close', (code, signal) => {
      timer.clear();
      killGroup();
      // a CLI's last words often end without a newline (an error message, then exit)
      for (const stream of ['stdout', 'stderr'] as const) if (pending[stream]) take(stream, pending[stream]);
      result.exitCode = code;
      result.signal = signal;
      resolve(result);
    });
  });
