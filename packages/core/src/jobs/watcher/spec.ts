import path from 'node:path';
import { z } from '../../zod.js';
import type { LaunchSpec } from '../../providers/contract.js';
import { jobPaths, type JobPaths } from '../../state/layout.js';

const absolutePath = z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path');
const positiveMs = z.number().int().positive();

/** A provider plugin's launch spec, as the watcher takes it (`start` checks it before anything is recorded). */
export const LaunchSpecSchema = z.object({
  command: z.string().min(1),
  args: z.array(z.string()),
  env: z.record(z.string(), z.string()),
  cwd: absolutePath,
  stdinFile: absolutePath.optional(),
  files: z.array(z.object({ path: absolutePath, content: z.string(), mode: z.number().int().optional() })).optional(),
  secretEnvNames: z.array(z.string()).optional(),
  secretValues: z.array(z.string()).optional(),
  selectedModel: z.string().optional(),
  fallbackReason: z.string().optional(),
  runtimeOptions: z.record(z.string(), z.unknown()).optional(),
});

const WatcherLimitsSchema = z.object({
  /** Job log and watcher log cap (head + rolling tail), limits.max_log_mb. */
  logCapBytes: z.number().int().positive(),
  /** Agent output past this ends the job (output_flood), limits.max_output_mb. */
  outputCapBytes: z.number().int().positive(),
  maxRuntimeMs: positiveMs,
  finalExitGraceMs: z.number().int().nonnegative(),
  killGraceMs: positiveMs,
  mutationPollMs: positiveMs,
  heartbeatIntervalMs: positiveMs,
  /** How late the watcher's half-second beat must be to count as a freeze (DX_RUNNER_FREEZE_GAP_SEC). */
  freezeGapMs: positiveMs,
  /** How long one of the watcher's git calls may take (DX_RUNNER_GIT_TIMEOUT_SEC); older starts: unbounded. */
  gitTimeoutMs: positiveMs.optional(),
});

/**
 * Everything `start`/`restart` hands the watcher over its stdin pipe (never written to disk: env holds
 * tokens). It crosses a process boundary, so the watcher parses it instead of trusting it; the job
 * paths must be exactly the ones the layout gives for (root, provider, beads).
 */
export const WatcherSpecSchema = z
  .object({
    paths: z.object({
      root: absolutePath,
      dir: absolutePath,
      provider: z.string(),
      beads: z.string(),
      meta: absolutePath,
      outcome: absolutePath,
      log: absolutePath,
      heartbeat: absolutePath,
      pid: absolutePath,
      rc: absolutePath,
      control: absolutePath,
      prompt: absolutePath,
      blocked: absolutePath,
      watcherLog: absolutePath,
      home: absolutePath,
      tmp: absolutePath,
    }),
    beads: z.string().min(1),
    provider: z.string().min(1),
    runInstance: z.string().min(1),
    runId: z.string().min(1),
    // a module specifier: a package export or an absolute file path
    runtimeModule: z.string().min(1),
    launch: LaunchSpecSchema,
    worktree: absolutePath,
    limits: WatcherLimitsSchema,
    outcomeBase: z.object({
      retries: z.number().int().nonnegative(),
      selectedModel: z.string(),
      fallbackReason: z.string(),
      host: z.string(),
      cwd: z.string(),
      providerSwitchFrom: z.array(z.string()),
      startedAt: z.string(),
    }),
    keepHome: z.boolean(),
    logLevel: z.string(),
    /** A read-only task: exiting 0 without changes is success (read_only_ok). */
    expectNoChanges: z.boolean(),
  })
  .superRefine((spec, ctx) => {
    const expected = jobPaths(spec.paths.root, spec.provider, spec.beads);
    for (const [key, value] of Object.entries(expected)) {
      if (spec.paths[key as keyof JobPaths] !== value)
        ctx.addIssue({ code: 'custom', path: ['paths', key], message: `must be ${value}` });
    }
  });

export type WatcherSpec = z.infer<typeof WatcherSpecSchema>;
export type WatcherLimits = WatcherSpec['limits'];

// The schema and the provider contract describe the same launch; keep them from drifting apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const launchSpecMatchesContract: Same<WatcherSpec['launch'], LaunchSpec> = true;
void launchSpecMatchesContract;

/** Parse the spec the watcher read from stdin; a one-line reason when it is not one. */
export function parseWatcherSpec(text: string): { ok: true; spec: WatcherSpec } | { ok: false; message: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { ok: false, message: `watcher spec is not JSON: ${(err as Error).message}` };
  }
  const parsed = WatcherSpecSchema.safeParse(raw);
  if (parsed.success) return { ok: true, spec: parsed.data };
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    message: `watcher spec invalid at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'unknown'}`,
  };
}

/** The one line the watcher sends back once the agent is running (or could not be started). */
export type WatcherAck =
  | { ok: true; agentPid: number; agentStartTicks: number; watcherPid: number }
  | { ok: false; reasonCode: string; failureClass: string; message: string; exitCode: number };
