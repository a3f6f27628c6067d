/**
 * Spawning the watcher is on the critical path of `start`, so `start` spawns it first thing and
 * lets it boot while the CLI validates; the watcher then waits on stdin for its spec. This module
 * imports nothing heavy so the CLI can load it before @dx/core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { JOB_MARK_ENV } from '../../process/escapees.js';

export interface PrespawnedWatcher {
  readonly child: ChildProcess;
  /** Resolves with the pid once the process exists; rejects if it could not be spawned. */
  readonly spawned: Promise<number>;
  /** Release a watcher that will not be used: it sees an empty spec and exits quietly. */
  cancel(): void;
  consumed: boolean;
  /**
   * Called once a job is handed to it, as its meta is written: from here the job is on record and
   * runs (or is recorded as `launch_incomplete`), and an interrupted `start` can no longer take it back.
   */
  onCommit?: () => void;
}

export function watcherEntry(): { file: string; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    // development mode (sources run through tsx): the watcher needs the loader too
    return { file: fileURLToPath(new URL('./main.ts', here)), execArgv: ['--import', import.meta.resolve('tsx')] };
  }
  return { file: fileURLToPath(new URL('./main.js', here)), execArgv: [] };
}

export function prespawnWatcher(env: NodeJS.ProcessEnv = process.env): PrespawnedWatcher {
  const entry = watcherEntry();
  const child = spawn(process.execPath, [...entry.execArgv, entry.file], {
    cwd: '/',
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore', 'pipe'],
    // a job an agent starts is a job of its own, not one of the agent's children to end with it
    env: { ...env, NODE_ENV: 'production', [JOB_MARK_ENV]: undefined },
  });
  const spawned = new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid!));
    child.once('error', reject);
  });
  spawned.catch(() => undefined);
  const watcher: PrespawnedWatcher = {
    child,
    spawned,
    consumed: false,
    cancel() {
      if (watcher.consumed) return;
      watcher.consumed = true;
      child.stdin?.end();
      child.stdin?.destroy();
      (child.stdio[3] as (NodeJS.ReadableStream & { destroy(): void }) | null)?.destroy();
      child.unref();
    },
  };
  return watcher;
}

type Pipe = { ref?: () => void; unref?: () => void } | null | undefined;

let early: PrespawnedWatcher | undefined;

/**
 * Spawn the watcher before the CLI has loaded anything (dx-runner's bin, for `start`), so its boot
 * overlaps oclif's as well as the validation. Held unreferenced: a call that ends without taking it
 * (a usage error, `--help`, a start on another host) exits as it would have, and the watcher, seeing
 * its stdin close, exits quietly.
 */
export function prespawnEarly(env: NodeJS.ProcessEnv = process.env): void {
  if (early) return;
  early = prespawnWatcher(env);
  setReferenced(early, false);
}

/** The watcher spawned by prespawnEarly, if any, referenced again: the caller now uses or cancels it. */
export function takePrespawned(): PrespawnedWatcher | undefined {
  const watcher = early;
  early = undefined;
  if (watcher) setReferenced(watcher, true);
  return watcher;
}

/** Whether the watcher's process and its two pipes keep this process alive. */
function setReferenced(watcher: PrespawnedWatcher, referenced: boolean): void {
  for (const handle of [watcher.child, watcher.child.stdin, watcher.child.stdio[3]] as Pipe[])
    if (referenced) handle?.ref?.();
    else handle?.unref?.();
}
