import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { runChild, type Policy } from '@dx/core';
import { SlackAlerter } from '../alerts/slack.js';
import { nightConfig } from '../config/config.js';
import type { SmokeOutput } from '../schemas.js';

/**
 * The nightly real-CLI smoke test, as checks against the installed dx-runner: preflight of each
 * provider, a dry-run start, check and kill of a throwaway beads id, with the argv a cron script uses.
 * Older scripts accepted exit 1 for "provider unavailable"; dx-runner's documented codes for that are 21
 * (preflight failed) and 25 (model unavailable), and check of an id that only had a dry run is 1
 * (job_not_found).
 */
export interface SmokeCheck {
  name: string;
  argv: (beads: string) => string[];
  expected: number[];
  /** Cleanup: run, recorded, never a failure. */
  cleanup?: boolean;
}

export const SEED_SMOKE_CHECKS: readonly SmokeCheck[] = [
  ...['opencode', 'cc-glm', 'gemini'].map((p) => ({
    name: `preflight ${p}`,
    argv: () => ['preflight', `--provider=${p}`],
    expected: [0, 21, 25],
  })),
  { name: 'dry-run start', argv: (b) => ['start', `--beads=${b}`, '--provider=cc-glm', '--dry-run'], expected: [0] },
  { name: 'check', argv: (b) => ['check', b], expected: [0, 1] },
  { name: 'kill', argv: (b) => ['kill', b], expected: [0, 1], cleanup: true },
];

const CHECK_TIMEOUT_MS = 30_000;

async function run(
  command: string[],
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number; stderr: string }> {
  const [cmd, ...prefix] = command;
  const r = await runChild(cmd, [...prefix, ...args], {
    cwd: options.cwd,
    env: { ...options.env, NODE_ENV: 'production' },
    timeoutMs: CHECK_TIMEOUT_MS,
  });
  if (r.outcome === 'not_started')
    return { code: 127, stderr: `cannot run ${cmd}: ${r.error.code ?? r.error.message}` };
  return { code: r.outcome === 'timed_out' ? 124 : r.code, stderr: r.stderr };
}

/** A throwaway git worktree under the first allowed prefix, for the dry-run start to validate. */
function throwawayWorktree(policy: Policy): string {
  const prefix = policy.worktrees.allowedPrefixes[0];
  if (!prefix) throw new Error('the policy allows no worktree prefix');
  const dir = path.join(prefix, `.nightly-smoke-${randomBytes(4).toString('hex')}`, 'repo');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const init = spawnSync('git', ['init', '-q', dir], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`git init ${dir}: ${init.stderr.trim() || init.error?.message}`);
  return dir;
}

export async function runSmoke(deps: {
  dxRunner: string[];
  policy: Policy;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}): Promise<SmokeOutput> {
  const beads = `smoke-test-${randomBytes(4).toString('hex')}`;
  const config = nightConfig(deps.policy, deps.env, {});
  const checks: SmokeOutput['checks'] = [];
  let worktree: string | undefined;
  try {
    worktree = throwawayWorktree(deps.policy);
  } catch (err) {
    checks.push({
      name: 'worktree',
      argv: [],
      exit_code: 1,
      expected: [0],
      ok: false,
      detail: `cannot make a throwaway worktree: ${(err as Error).message}`,
    });
  }
  try {
    for (const check of SEED_SMOKE_CHECKS) {
      if (!worktree) break;
      const argv = check.argv(beads);
      const r = await run(deps.dxRunner, argv, { cwd: worktree, env: deps.env });
      const ok = check.expected.includes(r.code) || Boolean(check.cleanup);
      const detail = r.stderr.trim().split('\n')[0] || null;
      checks.push({
        name: check.name,
        argv: ['dx-runner', ...argv],
        exit_code: r.code,
        expected: check.expected,
        ok,
        detail,
      });
      deps.log(
        `smoke ${check.name}: exit ${r.code}${ok ? '' : ` (expected ${check.expected.join(' or ')})`}${detail && !ok ? `: ${detail}` : ''}`,
      );
    }
  } finally {
    if (worktree) fs.rmSync(path.dirname(worktree), { recursive: true, force: true });
  }
  const failed = checks.filter((c) => !c.ok);
  const alerter = new SlackAlerter(config.webhook, config.root, config.alertRateLimitMinutes, deps.log);
  if (failed.length > 0) {
    await alerter.send(
      'smoke_failed',
      '🚨 nightly-dispatch smoke test FAILED',
      failed.map(
        (c) =>
          `• ${c.name}: exit ${c.exit_code} (expected ${c.expected.join(' or ')})${c.detail ? ` — ${c.detail}` : ''}`,
      ),
    );
  }
  return { ok: failed.length === 0, beads_id: beads, checks, alerts: alerter.records };
}
