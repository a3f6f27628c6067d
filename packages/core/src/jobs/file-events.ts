import fs from 'node:fs';
import path from 'node:path';
import { jobPaths, listProviderDirs } from '../state/layout.js';

/**
 * File events (inotify through fs.watch) on directories of a state root: the fast path of whoever
 * waits for a job. Events can be missed (a directory created after the watch began, a full
 * inotify queue, a file system without notifications), so every caller keeps a slow poll and
 * uses these only to wake early. `onName` gets the changed entry's name, or null when the kernel
 * did not say which. Returns the function that stops watching.
 */
export function watchDirectories(dirs: readonly string[], onName: (name: string | null) => void): () => void {
  const closers = dirs.map((dir) => watchDirectory(dir, onName));
  return () => {
    for (const close of closers) close?.();
  };
}

/**
 * One directory's file events; undefined when it cannot be watched (gone, not a directory). A
 * watch that fails later (the directory was removed) closes itself and calls `onGone`, so the
 * caller can take the directory up again if it comes back.
 */
export function watchDirectory(
  dir: string,
  onName: (name: string | null) => void,
  onGone?: () => void,
): (() => void) | undefined {
  let watcher: fs.FSWatcher;
  try {
    watcher = fs.watch(dir, { persistent: false }, (_event, name) => onName(name ? String(name) : null));
  } catch {
    return undefined;
  }
  watcher.on('error', () => {
    watcher.close();
    onGone?.();
  });
  return () => watcher.close();
}

/** A subscription to jobs' ends: `refresh` takes up provider directories created since. */
export interface JobEndWatch {
  refresh(): void;
  close(): void;
}

/** The subscription of a client that cannot hear file events (a remote host, another dx-runner). */
export const NO_JOB_END_EVENTS: JobEndWatch = { refresh: () => undefined, close: () => undefined };

const OUTCOME_SUFFIX = path.basename(jobPaths('/', '.', '').outcome);

/**
 * Announces `onEnd(beads)` when any job of a state root publishes its outcome (the watcher's last
 * record, written once the agent has ended), under any provider. Also announced when an outcome is
 * moved aside by the next start of the same id, and with `null` when the kernel lost track: a
 * listener reads the job's state again, it never concludes from the event alone.
 */
export class JobEndEvents implements JobEndWatch {
  private readonly watched = new Map<string, () => void>();
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly onEnd: (beads: string | null) => void,
  ) {
    this.refresh();
  }

  /** Watch the provider directories that appeared since (a provider's first job creates its own). */
  refresh(): void {
    if (this.closed) return;
    let providers: string[];
    try {
      providers = listProviderDirs(this.root);
    } catch {
      // an unreadable root: no events, the poll reads (and reports) it
      return;
    }
    for (const provider of providers) {
      const dir = path.join(this.root, provider);
      if (this.watched.has(dir)) continue;
      const close = watchDirectory(
        dir,
        (name) => {
          if (name === null) this.onEnd(null);
          else if (name.endsWith(OUTCOME_SUFFIX)) this.onEnd(name.slice(0, -OUTCOME_SUFFIX.length));
        },
        () => this.watched.delete(dir),
      );
      if (close) this.watched.set(dir, close);
    }
  }

  close(): void {
    this.closed = true;
    for (const close of this.watched.values()) close();
    this.watched.clear();
  }
}
