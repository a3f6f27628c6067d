import fs from 'node:fs';
import path from 'node:path';
import { BdClient, bdBinary } from '../beads/bd.js';
import { expandHome } from '../config/xdg.js';
import { DxError, ExitCode } from '../errors.js';
import { nextActionFor, nextActionText } from '../health/next-actions.js';
import { isValidBeadsId } from '../jobs/beads-id.js';
import { git } from '../process/git.js';
import type { BeadsGateOutput } from '../schemas/gates.js';

function gateNextAction(reason: string): { next_action: string; next_action_text: string } {
  const next = nextActionFor(reason);
  return { next_action: next, next_action_text: nextActionText(next) ?? '' };
}

export interface BeadsGateOptions {
  /** The repo being dispatched from (default cwd): its beads binding must match the database. */
  repo?: string;
  probeId?: string;
  writeProbe?: boolean;
  env?: NodeJS.ProcessEnv;
}

/**
 * The beads gate: `bd` found, the external Beads repo (BEADS_REPO_PATH, default ~/bd)
 * present with an origin containing BEADS_REPO_REMOTE_SUBSTR (default stars-end/bd), the
 * database reachable (`bd ping`), the repo binding matching (`bd context` project ids), the probe
 * issue present (`bd show`) and, with --write-probe, a reversible write (a status round trip that
 * restores the original status). Any failure exits 24.
 */
export async function beadsGate(options: BeadsGateOptions = {}): Promise<BeadsGateOutput> {
  const env = options.env ?? process.env;
  if (options.writeProbe && !options.probeId) {
    throw new DxError('--write-probe needs --probe-id (the issue whose status is round-tripped)', {
      exitCode: ExitCode.usage,
      reasonCode: 'probe_id_required',
    });
  }
  if (options.probeId && !isValidBeadsId(options.probeId)) {
    throw new DxError(`invalid --probe-id "${options.probeId}"`, {
      exitCode: ExitCode.usage,
      reasonCode: 'invalid_beads_id',
    });
  }
  const externalRepo = path.resolve(expandHome(env.BEADS_REPO_PATH?.trim() || '~/bd', env));
  const remoteWanted = env.BEADS_REPO_REMOTE_SUBSTR?.trim() || 'stars-end/bd';
  const repo = path.resolve(options.repo ?? process.cwd());
  const out: BeadsGateOutput = {
    gate: 'beads',
    passed: false,
    reason_code: 'beads_ok',
    next_action: '',
    next_action_text: '',
    details: '',
    beads: null,
    worktree: repo,
    bd: { path: null, version: null },
    external_repo: externalRepo,
    external_remote: null,
    db_status: 'unknown',
    project_id_db: null,
    project_id_repo: null,
    probe_id: options.probeId ?? null,
    write_probe: 'skipped',
  };
  const fail = (reason: string, details: string): BeadsGateOutput => ({
    ...out,
    passed: false,
    reason_code: reason,
    ...gateNextAction(reason),
    details,
  });

  const bin = bdBinary(env);
  if (!bin) return fail('beads_unavailable', 'bd CLI not found on PATH (or BD_BIN)');
  out.bd.path = bin;
  const external = new BdClient(bin, externalRepo, env);
  out.bd.version = (await external.version()) ?? null;

  if (!fs.existsSync(externalRepo) || (await git(externalRepo, ['rev-parse', '--git-dir'])).code !== 0) {
    return fail('beads_external_repo_missing', `external Beads repo missing at ${externalRepo} (BEADS_REPO_PATH)`);
  }
  const origin = await git(externalRepo, ['remote', 'get-url', 'origin']);
  out.external_remote = origin.code === 0 ? origin.stdout.trim() : null;
  if (!out.external_remote?.includes(remoteWanted)) {
    return fail(
      'beads_external_remote_mismatch',
      `${externalRepo} origin is ${out.external_remote ?? '(none)'}, expected it to contain ${remoteWanted} (BEADS_REPO_REMOTE_SUBSTR)`,
    );
  }

  const ping = await external.ping();
  out.db_status = ping.ok ? 'connected' : 'error';
  if (!ping.ok) return fail('beads_db_error', `bd ping failed in ${externalRepo}: ${ping.error}`);

  const dbContext = await external.context();
  out.project_id_db = typeof dbContext?.project_id === 'string' ? dbContext.project_id : null;
  if (fs.existsSync(path.join(repo, '.beads')) && repo !== externalRepo) {
    const repoContext = await new BdClient(bin, repo, env).context();
    out.project_id_repo = typeof repoContext?.project_id === 'string' ? repoContext.project_id : null;
    if (out.project_id_db && out.project_id_repo && out.project_id_db !== out.project_id_repo) {
      return fail(
        'beads_repo_mismatch',
        `repo ${repo} is bound to project ${out.project_id_repo}, the database is project ${out.project_id_db}`,
      );
    }
  }

  if (options.probeId) {
    const issue = await external.show(options.probeId);
    if (!issue) return fail('beads_probe_not_found', `probe id ${options.probeId} not found in the Beads database`);
    if (options.writeProbe) {
      const original = issue.status;
      const flipped = original === 'deferred' ? 'open' : 'deferred';
      const write = await external.setStatus(options.probeId, flipped);
      const after = write.exitCode === 0 ? await external.show(options.probeId) : undefined;
      const restore = await external.setStatus(options.probeId, original);
      const restored = (await external.show(options.probeId))?.status === original;
      if (write.exitCode !== 0 || after?.status !== flipped) {
        out.write_probe = 'failed';
        const why = (write.stderr || write.stdout).trim().split('\n')[0] || `bd update exited ${write.exitCode}`;
        return fail(
          'beads_write_blocked',
          `write probe failed: ${why}${restored ? '' : `; could not restore status ${original}`}`,
        );
      }
      if (restore.exitCode !== 0 || !restored) {
        out.write_probe = 'failed';
        return fail(
          'beads_write_blocked',
          `write probe changed ${options.probeId} but could not restore its status ${original}: ${(restore.stderr || restore.stdout).trim().split('\n')[0]}`,
        );
      }
      out.write_probe = 'passed';
    }
  }
  const checked = [
    'bd',
    'external repo',
    'origin',
    'db',
    out.project_id_repo ? 'repo binding' : '',
    options.probeId ? 'probe id' : '',
    options.writeProbe ? 'write probe' : '',
  ].filter(Boolean);
  return {
    ...out,
    passed: true,
    reason_code: 'beads_ok',
    ...gateNextAction('beads_ok'),
    details: `checked ${checked.join(', ')}`,
  };
}
