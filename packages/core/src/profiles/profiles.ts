import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from '../zod.js';
import { DxError, ExitCode } from '../errors.js';
import type { JobLimits } from '../jobs/limits.js';
import { readYamlFile } from '../policy/yaml.js';
import { xdgDirectory } from '../config/xdg.js';

/** A named start recipe: provider, model and limits (`start --profile NAME`). */
export const ProfileFileSchema = z
  .object({
    description: z.string().optional(),
    provider: z.string().regex(/^[a-z][a-z0-9-]*$/),
    model: z.string().min(1).optional(),
    limits: z
      .object({
        max_runtime_minutes: z.number().positive(),
        no_mutation_timeout_minutes: z.number().positive(),
        stall_minutes: z.number().positive(),
        startup_grace_sec: z.number().positive(),
        final_exit_grace_sec: z.number().positive(),
        kill_grace_sec: z.number().positive(),
      })
      .partial()
      .strict()
      .optional(),
  })
  .strict();
export type ProfileFile = z.infer<typeof ProfileFileSchema>;

export interface Profile extends ProfileFile {
  name: string;
  source: string;
}

export const SHIPPED_PROFILES_DIR = fileURLToPath(new URL('../../profiles', import.meta.url));
const NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** Search order: DX_RUNNER_PROFILES_DIR, ~/.config/dx-runner/profiles, then the shipped ones. */
export function profileDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = xdgDirectory('XDG_CONFIG_HOME', '.config', env);
  return [env.DX_RUNNER_PROFILES_DIR, path.join(configHome, 'dx-runner', 'profiles'), SHIPPED_PROFILES_DIR].filter(
    (d): d is string => Boolean(d),
  );
}

function profileFiles(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort();
  } catch {
    return [];
  }
}

/** Every profile, first directory wins for a name; a malformed file fails with file:line:col. */
export function listProfiles(env: NodeJS.ProcessEnv = process.env): Profile[] {
  const seen = new Map<string, Profile>();
  for (const dir of profileDirs(env)) {
    for (const file of profileFiles(dir)) {
      const name = file.replace(/\.ya?ml$/, '');
      if (seen.has(name) || !NAME.test(name)) continue;
      const full = path.join(dir, file);
      seen.set(name, { ...readYamlFile(full, ProfileFileSchema, 'profile'), name, source: full });
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export function loadProfile(name: string, env: NodeJS.ProcessEnv = process.env): Profile {
  if (!NAME.test(name)) {
    throw new DxError(`invalid profile name "${name}"`, {
      exitCode: ExitCode.usage,
      reasonCode: 'invalid_profile_name',
    });
  }
  for (const dir of profileDirs(env)) {
    for (const ext of ['yaml', 'yml']) {
      const file = path.join(dir, `${name}.${ext}`);
      if (fs.existsSync(file)) return { ...readYamlFile(file, ProfileFileSchema, 'profile'), name, source: file };
    }
  }
  const known = listProfiles(env).map((p) => p.name);
  throw new DxError(`profile "${name}" not found (available: ${known.join(', ') || 'none'})`, {
    exitCode: ExitCode.general,
    reasonCode: 'profile_not_found',
    nextAction: 'run_dx_runner_profiles_--list',
  });
}

/** The profile's limits as the JobLimits fields they override. */
export function profileLimits(profile: Profile | undefined): Partial<JobLimits> {
  const l = profile?.limits ?? {};
  const out: Partial<JobLimits> = {};
  if (l.max_runtime_minutes !== undefined) out.maxRuntimeMinutes = l.max_runtime_minutes;
  if (l.no_mutation_timeout_minutes !== undefined) out.noMutationTimeoutMinutes = l.no_mutation_timeout_minutes;
  if (l.stall_minutes !== undefined) out.stallMinutes = l.stall_minutes;
  if (l.startup_grace_sec !== undefined) out.startupGraceSec = l.startup_grace_sec;
  if (l.final_exit_grace_sec !== undefined) out.finalExitGraceSec = l.final_exit_grace_sec;
  if (l.kill_grace_sec !== undefined) out.killGraceSec = l.kill_grace_sec;
  return out;
}
