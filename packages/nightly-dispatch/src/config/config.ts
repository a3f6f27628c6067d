import path from 'node:path';
import { openPrivateRoot, readFileIfExists, sectionOf, toolStatePath, writeFileAtomic, type Policy } from '@dx/core';
import { NIGHTLY_SECTION, type NightlyPolicy } from './policy.js';

/** NIGHTLY_DISPATCH_DIR, default `${XDG_STATE_HOME:-~/.local/state}/nightly-dispatch`. */
export function nightlyRootPath(env: NodeJS.ProcessEnv): string {
  return toolStatePath('nightly-dispatch', 'NIGHTLY_DISPATCH_DIR', env);
}

export function openNightlyRoot(env: NodeJS.ProcessEnv): string {
  return openPrivateRoot(nightlyRootPath(env), true, 'nightly-dispatch root')!;
}

export interface NightConfig extends NightlyPolicy {
  root: string;
  webhook: string | undefined;
  /** When the migration to dx-runner was recorded; null until the first real run records it. */
  migrationStart: string | null;
  /** Jobs at once now: maxParallel during the first migrationHours, then maxParallelPostMigration. */
  currentMaxParallel: number;
}

const MIGRATION_FILE = 'migration-start';

/**
 * Seed 003's migration clock: MAX_PARALLEL 1 for 48 h after the recorded start, 2 afterwards. The
 * start is recorded when the first real dispatch is attempted (a dry run, or a run that ends
 * before dispatching anything, only reads it), in the state root.
 */
export function migrationStart(root: string): string | null {
  const text = readFileIfExists(path.join(root, MIGRATION_FILE))?.trim();
  return text && !Number.isNaN(Date.parse(text)) ? text : null;
}

/** Record the migration start once; later calls keep the first. */
export function recordMigrationStart(root: string, now = new Date()): string {
  const existing = migrationStart(root);
  if (existing) return existing;
  writeFileAtomic(path.join(root, MIGRATION_FILE), `${now.toISOString()}\n`);
  return now.toISOString();
}

export function maxParallelAt(policy: NightlyPolicy, start: string | null, now = new Date()): number {
  if (!start) return policy.maxParallel;
  return now.getTime() - Date.parse(start) >= policy.migrationHours * 3_600_000
    ? policy.maxParallelPostMigration
    : policy.maxParallel;
}

export function nightConfig(policy: Policy, env: NodeJS.ProcessEnv, options: { maxItems?: number }): NightConfig {
  const root = openNightlyRoot(env);
  const start = migrationStart(root);
  const nightly = sectionOf(policy, NIGHTLY_SECTION);
  return {
    ...nightly,
    maxItems: options.maxItems ?? nightly.maxItems,
    root,
    webhook: env.SLACK_WEBHOOK_URL || env.SLACK_WEBHOOK || undefined,
    migrationStart: start,
    currentMaxParallel: maxParallelAt(nightly, start),
  };
}
