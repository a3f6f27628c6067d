import fs from 'node:fs';
import path from 'node:path';
import { watchDirectory } from '@dx/core';
import { beadsOfStateFile } from '../data/jobs.js';

/** What changed on disk since the last flush. */
export interface StateChanges {
  /** Beads ids whose job files changed. */
  jobs: Set<string>;
  /** A provider directory appeared or the watcher lost track: every job is read again. */
  allJobs: boolean;
  waves: boolean;
  nights: boolean;
}

export interface StateRoots {
  state: string | undefined;
  batch: string;
  nightly: string;
}

/** Changes arriving within this window are read together (a job's end writes several files). */
const DEBOUNCE_MS = 75;
const PROVIDER_DIR = /^[a-z][a-z0-9-]*$/;

/**
 * File-system notifications (inotify through fs.watch) on the directories the three tools write:
 * each provider directory of dx-runner's state root, dx-batch's waves, nightly-dispatch's reports.
 * Directories that do not exist yet are picked up by `ensure()`, which the server calls on its tick.
 */
export class StateWatcher {
  /** Watched directory → the function that stops its watch. */
  private readonly watchers = new Map<string, () => void>();
  private pending: StateChanges = StateWatcher.empty();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly roots: StateRoots,
    private readonly onChanges: (changes: StateChanges) => void,
  ) {}

  private static empty(): StateChanges {
    return { jobs: new Set(), allJobs: false, waves: false, nights: false };
  }

  /** Watch every directory that exists now; safe to call again (already watched ones are kept). */
  ensure(): void {
    if (this.closed) return;
    const { state, batch, nightly } = this.roots;
    if (state && this.watch(state, (name) => this.onStateRootEntry(name)))
      for (const name of this.subdirs(state)) if (PROVIDER_DIR.test(name)) this.watchProvider(path.join(state, name));
    const waves = path.join(batch, 'waves');
    if (this.watch(waves, (name) => this.onWavesEntry(name)))
      for (const id of this.subdirs(waves)) this.watchWave(path.join(waves, id));
    this.watch(path.join(nightly, 'reports'), () => this.note((c) => (c.nights = true)));
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const close of this.watchers.values()) close();
    this.watchers.clear();
  }

  private subdirs(dir: string): string[] {
    try {
      return fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
        .map((e) => e.name);
    } catch {
      return [];
    }
  }

  /** True when `dir` is watched (now or already). */
  private watch(dir: string, onName: (name: string | null) => void): boolean {
    if (this.watchers.has(dir)) return true;
    // a removed directory ends its watch; ensure() takes it up again if it comes back
    const close = watchDirectory(dir, onName, () => this.watchers.delete(dir));
    if (!close) return false;
    this.watchers.set(dir, close);
    return true;
  }

  private onStateRootEntry(name: string | null): void {
    if (name && !PROVIDER_DIR.test(name)) return;
    if (name) this.watchProvider(path.join(this.roots.state!, name));
    this.note((c) => (c.allJobs = true));
  }

  private watchProvider(dir: string): void {
    this.watch(dir, (name) => {
      const beads = name ? beadsOfStateFile(name.replace(/^\./, '')) : undefined;
      this.note((c) => (beads ? c.jobs.add(beads) : (c.allJobs = true)));
    });
  }

  private onWavesEntry(name: string | null): void {
    if (name) this.watchWave(path.join(this.roots.batch, 'waves', name));
    this.note((c) => (c.waves = true));
  }

  private watchWave(dir: string): void {
    this.watch(dir, (name) => {
      if (name === null || name.startsWith('wave_state')) this.note((c) => (c.waves = true));
    });
  }

  private note(mark: (c: StateChanges) => unknown): void {
    if (this.closed) return;
    mark(this.pending);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const changes = this.pending;
      this.pending = StateWatcher.empty();
      this.onChanges(changes);
    }, DEBOUNCE_MS);
  }
}
