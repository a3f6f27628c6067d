import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CancelOutputSchema, DoctorOutputSchema, WaveReportSchema, readLedger, wavePaths } from '@dx/dx-batch';
import { JobReportSchema, StatusOutputSchema } from '@dx/core';
import {
  createBatchFixture,
  IMPLEMENT_OK,
  itemById,
  killBackgroundBatches,
  parseWave,
  REVIEW_OK,
  spawnBatch,
  type BatchFixture,
} from '../helpers/batch.js';
import { BATCH_BIN, REPO_ROOT } from '../helpers/paths.js';

/** Runs a command on a pty of its own, then closes the pty (test/fixtures/hang-up.py). */
const HANG_UP = path.join(REPO_ROOT, 'test', 'fixtures', 'hang-up.py');
import { createSandbox, processExists, waitFor, type Sandbox } from '../helpers/sandbox.js';

/**
 * dx-batch waves end to end: the built dx-batch bin drives the built dx-runner, which runs the fake
 * agent through the `fake` / `fake-alt` providers. The agent picks its script from FAKE_AGENT_SCRIPTS
 * by the DX-BATCH-* header of the prompt dx-batch wrote (item, phase, attempt, provider).
 */

let sb: Sandbox;
let fx: BatchFixture;
const script = (name: string, body: unknown) => fx.script(name, body);
const recorded = (body: { steps: unknown[] }) => fx.recorded(body);
const items = (ids: string[]) => fx.items(ids);
const runs = () => fx.runs();
const byId = itemById;
/** An item's attempts as [phase, provider, result, reason] rows. */
const attemptRows = (item: ReturnType<typeof itemById>) =>
  item.attempts.map((a) => [a.phase, a.provider, a.result, a.reason_code]);

beforeAll(() => {
  sb = createSandbox();
  fx = createBatchFixture(sb);
});

afterAll(async () => {
  killBackgroundBatches();
  await sb.cleanup();
});

describe('dx-batch waves', () => {
  it('runs every item through implement and a separate review job to APPROVED, at most max-parallel at once', async () => {
    const ids = ['ok-a', 'ok-b', 'ok-c'];
    const r = await sb.batch(['start', '--items', items(ids), '--wave-id', 'w-ok', '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const wave = parseWave(r.stdout);
    expect(wave.status).toBe('completed');
    expect(wave.reason_code).toBe('wave_completed');
    for (const id of ids) {
      const item = byId(wave, id);
      expect(item.status).toBe('APPROVED');
      expect(item.attempts.map((a) => [a.phase, a.provider, a.job_beads])).toEqual([
        ['implement', 'fake', id],
        ['review', 'fake', `${id}-review`],
      ]);
      expect(item.attempts[0].tokens_input).toBe(100);
      // the implement job really changed the item's worktree
      expect(fs.existsSync(path.join(sb.agents, id, 'repo', `${id}-attempt1.txt`))).toBe(true);
      // every transition is in the ledger, in order
      const ledger = readLedger(wavePaths(path.join(sb.dir, 'batch'), 'w-ok'), id);
      expect(ledger.filter((e) => e.to).map((e) => e.to)).toEqual(['IMPLEMENTING', 'REVIEWING', 'APPROVED']);
    }
    // never more than two items' jobs at once
    const spans = wave.items.flatMap((i) =>
      i.attempts.map((a) => [Date.parse(a.started_at), Date.parse(a.completed_at!)] as const),
    );
    const maxOverlap = Math.max(...spans.map(([s]) => spans.filter(([s2, e2]) => s2 <= s && s < e2).length));
    expect(maxOverlap).toBeLessThanOrEqual(2);
    // review is a job of its own in dx-runner
    const status = await sb.dxJson(['status', '--recent', '50'], StatusOutputSchema);
    expect(status.json.jobs.map((j) => j.beads).sort()).toEqual(
      expect.arrayContaining(['ok-a', 'ok-a-review', 'ok-b-review']),
    );

    const st = await sb.batch(['status', '--wave-id', 'w-ok']);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(/ok-a\s+APPROVED/);
    const report = await sb.batch(['report', '--wave-id', 'w-ok', '--format', 'json']);
    const parsed = WaveReportSchema.parse(JSON.parse(report.stdout));
    expect(parsed.totals).toMatchObject({ attempts: 6, tokens_input: 450, tokens_output: 75 });
    const md = await sb.batch(['report', '--wave-id', 'w-ok']);
    expect(md.stdout).toContain('| ok-b | APPROVED |');
    const doctor = await sb.batch(['doctor', '--wave-id', 'w-ok', '--json']);
    expect(doctor.code, doctor.stdout).toBe(0);
    expect(DoctorOutputSchema.parse(JSON.parse(doctor.stdout)).issues.filter((i) => i.severity !== 'info')).toEqual([]);
  });

  it('takes an item to its next phase as soon as its job ends, not at the next poll', async () => {
    // two minutes between polls: a wave that waited them out would take at least four; and a first
    // wave on this machine: dx-runner's state root does not exist yet when the wave begins
    const stateDir = path.join(sb.dir, 'state-of-a-first-wave');
    const r = await sb.batch(
      ['start', '--items', items(['wake-a']), '--wave-id', 'w-wake', '--poll-interval', '120', '--json'],
      { env: { DX_RUNNER_STATE_DIR: stateDir } },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const wave = parseWave(r.stdout);
    expect(byId(wave, 'wake-a').status).toBe('APPROVED');
    expect(byId(wave, 'wake-a').attempts.map((a) => a.phase)).toEqual(['implement', 'review']);
    expect(Date.parse(wave.completed_at!) - Date.parse(wave.started_at!)).toBeLessThan(120_000);
    expect(fs.readdirSync(path.join(stateDir, 'fake'))).toContain('wake-a-review.outcome');
  }, 150_000);

  it('an implement job still running as a no-op is stopped before the next attempt works in its worktree', async () => {
    // the first implementer (provider fake) never says a thing nor changes anything, and never exits
    script('nq.implement.fake', { silent: true, steps: [{ hang: true }] });
    const r = await sb.batch(['start', '--items', items(['nq']), '--wave-id', 'w-live-noop', '--json'], {
      env: { DX_RUNNER_STARTUP_GRACE_SEC: '1' },
    });
    expect(r.code, r.stderr).toBe(0);
    const nq = byId(parseWave(r.stdout), 'nq');
    expect(nq.status).toBe('APPROVED');
    expect(attemptRows(nq)).toEqual([
      ['implement', 'fake', 'no_op', 'no_events_no_mutation'],
      ['implement', 'fake-alt', 'exited_ok', 'implement_completed'],
      ['review', 'fake', 'exited_ok', 'review_approved'],
    ]);
    // the silent one was ended, not left running beside the next attempt
    const first = JSON.parse((await sb.dx(['check', nq.attempts[0].job_beads, '--json'])).stdout);
    expect(first.outcome_state).not.toBeNull();
  });

  it('a stop that lasts the kill grace holds only its own item: the others go on, its next attempt waits', async () => {
    // sq's first implementer says nothing, changes nothing and ignores SIGTERM: stopping it takes the
    // kill grace; sl is still implementing when that stop begins, so its review falls inside it
    script('sq.implement.fake', { silent: true, steps: [{ ignore_sigterm: true }, { hang: true }] });
    script('sl.implement.fake', { steps: [{ sleep: 2500 }, ...IMPLEMENT_OK.steps] });
    // without --json: the progress lines (stderr) say why sq waits
    const r = await sb.batch(['start', '--items', items(['sq', 'sl']), '--wave-id', 'w-slow-stop'], {
      env: { DX_RUNNER_STARTUP_GRACE_SEC: '1', DX_RUNNER_KILL_GRACE_SEC: '15' },
    });
    expect(r.code, r.stderr).toBe(0);
    const wave = parseWave((await sb.batch(['status', '--wave-id', 'w-slow-stop', '--json'])).stdout);
    const sq = byId(wave, 'sq');
    const sl = byId(wave, 'sl');
    expect([sq.status, sl.status]).toEqual(['APPROVED', 'APPROVED']);
    expect(attemptRows(sq)).toEqual([
      ['implement', 'fake', 'no_op', 'no_events_no_mutation'],
      ['implement', 'fake-alt', 'exited_ok', 'implement_completed'],
      ['review', 'fake', 'exited_ok', 'review_approved'],
    ]);
    // when the stop ended: the first job's outcome, written once its agent was killed
    const { json: first } = await sb.dxJson(['report', '--beads', sq.attempts[0].job_beads], JobReportSchema);
    const stopped = first.history.filter((h) => h.provider === 'fake');
    expect(stopped.map((h) => h.state)).toEqual(['killed']);
    const stopEnded = Date.parse(stopped[0].completed_at);
    const slReview = sl.attempts.find((a) => a.phase === 'review')!;
    expect(Date.parse(slReview.started_at)).toBeLessThan(stopEnded);
    expect(Date.parse(sq.attempts[1].started_at)).toBeGreaterThanOrEqual(stopEnded);
    expect(r.stderr).toContain(`sq waits for the stop of its last job, ${sq.attempts[0].job_beads} on local`);
  }, 90_000);

  it('a review that changed files cannot approve them: the next reviewer reviews the worktree as it is', async () => {
    // the first reviewer (provider fake) edits the work and approves; the next one (fake-alt) only approves
    script(
      'rc.review.fake',
      recorded({ steps: [{ write: 'rc-attempt1.txt', content: 'edited in review\n' }, ...REVIEW_OK.steps] }),
    );
    const r = await sb.batch(['start', '--items', items(['rc']), '--wave-id', 'w-review-changed', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rc = byId(parseWave(r.stdout), 'rc');
    expect(rc.status).toBe('APPROVED');
    expect(attemptRows(rc)).toEqual([
      ['implement', 'fake', 'exited_ok', 'implement_completed'],
      ['review', 'fake', 'exited_ok', 'review_approved_after_changing_files'],
      ['review', 'fake-alt', 'exited_ok', 'review_approved'],
    ]);
    // the second review ran in the worktree that holds the first reviewer's change
    expect(fs.readFileSync(path.join(sb.agents, 'rc', 'repo', 'rc-attempt1.txt'), 'utf8')).toBe('edited in review\n');
  });

  it('a review that only left new untracked files (a test report) keeps its approval, its reason saying so', async () => {
    script('ra.review', recorded({ steps: [{ write: 'coverage/lcov.info', content: 'TN:\n' }, ...REVIEW_OK.steps] }));
    const r = await sb.batch(['start', '--items', items(['ra']), '--wave-id', 'w-review-artifacts', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const ra = byId(parseWave(r.stdout), 'ra');
    expect(ra.status).toBe('APPROVED');
    expect(ra.attempts.map((a) => [a.phase, a.reason_code])).toEqual([
      ['implement', 'implement_completed'],
      ['review', 'review_approved_after_changing_files'],
    ]);
  });

  it('a review that changed files and asks for revisions keeps its verdict', async () => {
    script(
      'rr.review.2',
      recorded({
        steps: [
          { write: 'src/edited-in-review.ts' },
          {
            contract: {
              verdict: 'REVISION_REQUIRED',
              findings: [{ type: 'major', message: 'the edge case' }],
              summary: 'not yet',
            },
          },
        ],
      }),
    );
    const r = await sb.batch(['start', '--items', items(['rr']), '--wave-id', 'w-review-changed-rev', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rr = byId(parseWave(r.stdout), 'rr');
    expect(rr.attempts.map((a) => [a.phase, a.reason_code])).toEqual([
      ['implement', 'implement_completed'],
      ['review', 'review_revision_required_after_changing_files'],
      ['implement', 'implement_completed'],
      ['review', 'review_approved'],
    ]);
    expect(rr.status).toBe('APPROVED');
  });

  it('sends a REVISION_REQUIRED item back to implementing with the findings, and blocks it past max revisions', async () => {
    script(
      'rev-a.review.2',
      recorded({
        steps: [
          {
            contract: {
              verdict: 'REVISION_REQUIRED',
              findings: [{ type: 'major', message: 'add a test for the empty list' }],
              summary: 'almost',
            },
          },
        ],
      }),
    );
    script(
      'rev-b.review',
      recorded({
        steps: [
          {
            contract: {
              verdict: 'REVISION_REQUIRED',
              findings: [{ type: 'minor', message: 'rename x' }],
              summary: 'again',
            },
          },
        ],
      }),
    );
    const r = await sb.batch([
      'start',
      '--items',
      items(['rev-a', 'rev-b']),
      '--wave-id',
      'w-rev',
      '--max-revisions',
      '1',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(3);
    const wave = parseWave(r.stdout);
    const a = byId(wave, 'rev-a');
    expect(a.status).toBe('APPROVED');
    expect(a.revisions).toBe(1);
    expect(a.attempts.map((x) => `${x.phase}:${x.verdict ?? '-'}`)).toEqual([
      'implement:-',
      'review:REVISION_REQUIRED',
      'implement:-',
      'review:APPROVED',
    ]);
    // the second implement prompt carries the reviewer's findings
    const prompt = fs.readFileSync(
      path.join(sb.dir, 'batch', 'waves', 'w-rev', 'prompts', 'rev-a.implement.attempt3.prompt'),
      'utf8',
    );
    expect(prompt).toContain('add a test for the empty list');
    const b = byId(wave, 'rev-b');
    expect(b.status).toBe('BLOCKED');
    expect(b.reason_code).toBe('revision_limit_reached');
    expect(b.attempts.filter((x) => x.phase === 'review')).toHaveLength(2);
  });

  it('treats a missing or invalid contract as a failed attempt: next provider, then blocked with each reason kept', async () => {
    script(
      'nocontract.implement',
      recorded({ steps: [{ write: 'x.txt', content: '${batch:attempt}' }, { result: 'I did it, trust me' }] }),
    );
    script(
      'badreview.review',
      recorded({ steps: [{ contract: { verdict: 'BLOCKED', findings: [], summary: 'no findings given' } }] }),
    );
    const r = await sb.batch([
      'start',
      '--items',
      items(['nocontract', 'badreview']),
      '--wave-id',
      'w-contract',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(3);
    const wave = parseWave(r.stdout);
    const nc = byId(wave, 'nocontract');
    expect(nc.status).toBe('BLOCKED');
    expect(nc.reason_code).toBe('retry_chain_exhausted');
    expect(nc.attempts.map((a) => [a.provider, a.reason_code])).toEqual([
      ['fake', 'implement_contract_missing_or_invalid'],
      ['fake-alt', 'implement_contract_missing_or_invalid'],
    ]);
    const br = byId(wave, 'badreview');
    expect(br.status).toBe('BLOCKED');
    expect(br.reason_code).toBe('review_contract_missing_or_invalid');
    expect(br.attempts.filter((a) => a.phase === 'review').map((a) => a.reason_code)).toEqual([
      'review_contract_missing_or_invalid',
      'review_contract_missing_or_invalid',
    ]);
  });

  it('falls back to the next provider when an attempt fails, and skips a provider that fails preflight', async () => {
    script(
      'fb.implement.fake',
      recorded({
        steps: [
          { error: { class: 'rate_limited', reason: 'fake_rate_limited', text: 'HTTP 429 slow down' } },
          { exit: 1 },
        ],
      }),
    );
    const r = await sb.batch(['start', '--items', items(['fb']), '--wave-id', 'w-fallback', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const fb = byId(parseWave(r.stdout), 'fb');
    expect(fb.status).toBe('APPROVED');
    expect(attemptRows(fb)).toEqual([
      ['implement', 'fake', 'exited_err', 'fake_rate_limited'],
      ['implement', 'fake-alt', 'exited_ok', 'implement_completed'],
      ['review', 'fake', 'exited_ok', 'review_approved'],
    ]);

    const pre = await sb.batch(['start', '--items', items(['pf']), '--wave-id', 'w-preflight', '--json'], {
      env: { FAKE_PREFLIGHT_FAIL: 'fake' },
    });
    expect(pre.code, pre.stderr).toBe(0);
    const wave = parseWave(pre.stdout);
    expect(wave.preflight.map((p) => [p.provider, p.available, p.reason_code])).toEqual([
      ['fake', false, 'fake_auth_blocked'],
      ['fake-alt', true, null],
    ]);
    expect(byId(wave, 'pf').attempts.map((a) => a.provider)).toEqual(['fake-alt', 'fake-alt']);
  });

  it('blocks every item when every provider fails, and refuses to start when none passes preflight', async () => {
    script(
      'down-a.implement',
      recorded({
        steps: [{ error: { class: 'auth', reason: 'fake_auth_blocked', text: '401 unauthorized' } }, { exit: 1 }],
      }),
    );
    script(
      'down-b.implement',
      recorded({
        steps: [{ error: { class: 'auth', reason: 'fake_auth_blocked', text: '401 unauthorized' } }, { exit: 1 }],
      }),
    );
    const r = await sb.batch(['start', '--items', items(['down-a', 'down-b']), '--wave-id', 'w-down', '--json']);
    expect(r.code, r.stderr).toBe(3);
    const wave = parseWave(r.stdout);
    expect(wave.items.map((i) => [i.status, i.reason_code])).toEqual([
      ['BLOCKED', 'retry_chain_exhausted'],
      ['BLOCKED', 'retry_chain_exhausted'],
    ]);
    expect(wave.stats).toMatchObject({ total: 2, blocked: 2, approved: 0 });

    const none = await sb.batch(['start', '--items', items(['np']), '--wave-id', 'w-none'], {
      env: { FAKE_PREFLIGHT_FAIL: 'fake,fake-alt' },
    });
    expect(none.code).toBe(1);
    expect(none.stdout + none.stderr).toMatch(/no_provider_available/);
    expect(runs().filter((x) => x[0] === 'np')).toEqual([]);
  });

  it('survives kill -9 of the orchestrator: resume finishes the wave, no item lost or run twice', async () => {
    const slow = recorded({ steps: [{ sleep: 1500 }, ...IMPLEMENT_OK.steps] });
    const ids = ['k1', 'k2', 'k3', 'k4'];
    for (const id of ids) script(`${id}.implement`, slow);
    const { child, done } = spawnBatch(sb, ['start', '--items', items(ids), '--wave-id', 'w-kill']);
    const paths = wavePaths(path.join(sb.dir, 'batch'), 'w-kill');
    await waitFor(
      () => fs.existsSync(paths.ledgers) && readLedger(paths, 'k1').some((e) => e.event === 'job_started'),
      'k1 job started',
      30_000,
    );
    child.kill('SIGKILL');
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');

    const doctor = await sb.batch(['doctor', '--wave-id', 'w-kill', '--json']);
    expect(doctor.code).toBe(1);
    expect(DoctorOutputSchema.parse(JSON.parse(doctor.stdout)).issues.map((i) => i.type)).toContain(
      'orchestrator_not_running',
    );
    // status and report say so too: a wave marked running that nobody runs is not one to watch
    const orphan = parseWave((await sb.batch(['status', '--wave-id', 'w-kill', '--json'])).stdout);
    expect(orphan).toMatchObject({ status: 'running', next_action: 'resume_wave_without_orchestrator' });
    expect((await sb.batch(['status', '--wave-id', 'w-kill'])).stdout).toContain(
      'no live orchestrator holds it (killed, or its machine restarted): continue it with `dx-batch resume`',
    );
    const report = WaveReportSchema.parse(
      JSON.parse((await sb.batch(['report', '--wave-id', 'w-kill', '--format', 'json'])).stdout),
    );
    expect(report.next_action).toBe('resume_wave_without_orchestrator');

    const r = await sb.batch(['resume', '--wave-id', 'w-kill', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const wave = parseWave(r.stdout);
    expect(wave.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED', 'APPROVED', 'APPROVED']);
    for (const id of ids) {
      const mine = runs().filter((x) => x[0] === id);
      expect(mine.map((x) => x[1]).sort(), `${id} ran ${JSON.stringify(mine)}`).toEqual(['implement', 'review']);
    }
    const again = await sb.batch(['resume', '--wave-id', 'w-kill']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/wave w-kill is completed; nothing to resume/);
  });

  it('a start killed before its wave ran leaves a pending wave doctor names and resume runs', async () => {
    const { child, done } = spawnBatch(sb, ['start', '--items', items(['pk1']), '--wave-id', 'w-pending'], {
      FAKE_PREFLIGHT_DELAY_MS: '30000',
    });
    const paths = wavePaths(path.join(sb.dir, 'batch'), 'w-pending');
    await waitFor(() => fs.existsSync(paths.state), 'the pending wave written', 30_000);
    child.kill('SIGKILL');
    await done;
    const doctor = await sb.batch(['doctor', '--wave-id', 'w-pending', '--json']);
    expect(doctor.code).toBe(1);
    expect(DoctorOutputSchema.parse(JSON.parse(doctor.stdout)).issues).toContainEqual(
      expect.objectContaining({
        type: 'orchestrator_not_running',
        message: expect.stringMatching(/^the wave is marked pending \(its start was interrupted before it ran\)/),
      }),
    );
    const resumed = await sb.batch(['resume', '--wave-id', 'w-pending', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(parseWave(resumed.stdout).items.map((i) => i.status)).toEqual(['APPROVED']);
  });

  it('pauses on SIGTERM, leaving the running jobs to finish, and resume adopts them', async () => {
    const slow = recorded({ steps: [{ sleep: 1500 }, ...IMPLEMENT_OK.steps] });
    for (const id of ['p1', 'p2']) script(`${id}.implement`, slow);
    const { child, done } = spawnBatch(sb, ['start', '--items', items(['p1', 'p2']), '--wave-id', 'w-pause']);
    await waitFor(
      () => runs().filter((x) => x[0] === 'p1' || x[0] === 'p2').length === 2,
      'both implement jobs running',
      30_000,
    );
    child.kill('SIGTERM');
    const paused = await done;
    expect(paused.code).toBe(1);
    const st = parseWave((await sb.batch(['status', '--wave-id', 'w-pause', '--json'])).stdout);
    expect(st.status).toBe('paused');
    expect(st.reason_code).toBe('wave_paused_signal');
    const r = await sb.batch(['resume', '--wave-id', 'w-pause', '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const id of ['p1', 'p2'])
      expect(
        runs()
          .filter((x) => x[0] === id)
          .map((x) => x[1])
          .sort(),
      ).toEqual(['implement', 'review']);
  });

  it('a token budget: once spent, no attempt starts and the wave pauses; resume with a larger one finishes it', async () => {
    const r = await sb.batch([
      'start',
      '--items',
      items(['tok-a', 'tok-b']),
      '--wave-id',
      'w-tokens',
      '--max-parallel',
      '1',
      '--max-tokens',
      '1',
    ]);
    // the first implement job spends past the budget; nothing starts after it
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^wave w-tokens: paused .* tokens \d+\/1$/m);
    expect(r.stdout).toContain('reason_code=token_budget_spent next_action=raise_max_tokens_then_dx_batch_resume');
    expect(
      runs()
        .filter((x) => x[0].startsWith('tok-'))
        .map((x) => x.slice(0, 2)),
    ).toEqual([['tok-a', 'implement']]);
    const report = WaveReportSchema.parse(
      JSON.parse((await sb.batch(['report', '--wave-id', 'w-tokens', '--format', 'json'])).stdout),
    );
    expect(report).toMatchObject({ status: 'paused', reason_code: 'token_budget_spent' });
    expect(report.totals.max_tokens).toBe(1);
    expect(report.totals.tokens_input + report.totals.tokens_output).toBeGreaterThan(1);
    expect(report.items.map((i) => [i.beads_id, i.status, i.attempts])).toEqual([
      ['tok-a', 'REVIEWING', 1],
      ['tok-b', 'PENDING', 0],
    ]);
    // a paused wave has no duration yet: said as such, not as "-s"
    const md = (await sb.batch(['report', '--wave-id', 'w-tokens'])).stdout;
    expect(md).toContain('- Duration: -\n');
    expect(md).toMatch(/- Attempts: 1 \(tokens in \d+ \/ out \d+; budget 1\)/);

    const resumed = await sb.batch(['resume', '--wave-id', 'w-tokens', '--max-tokens', '1000000', '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    const wave = parseWave(resumed.stdout);
    expect(wave.config.max_tokens).toBe(1_000_000);
    expect(wave.items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
  });

  it('a Ctrl-C (SIGINT to its process group) while bd is asked about an item pauses the wave in order', async () => {
    const atShow = path.join(sb.dir, 'bd-show-reached');
    const slowBd = path.join(sb.dir, 'bd-slow-show');
    fs.writeFileSync(slowBd, `#!/bin/sh\ncase "$1" in show) touch '${atShow}'; exec sleep 30;; esac\nexit 1\n`, {
      mode: 0o755,
    });
    const { child, done } = spawnBatch(
      sb,
      ['start', '--items', items(['g1']), '--wave-id', 'w-bd-int'],
      { BD_BIN: slowBd },
      { ownGroup: true },
    );
    await waitFor(() => fs.existsSync(atShow), 'dx-batch asked bd about the item', 30_000);
    process.kill(-child.pid!, 'SIGINT');
    const paused = await done;
    // not ended by the signal mid-step (execa's exit hook re-raised it once a one-shot handler had gone)
    expect({ code: paused.code, signal: paused.signal }, paused.stderr).toEqual({ code: 1, signal: null });
    const st = parseWave((await sb.batch(['status', '--wave-id', 'w-bd-int', '--json'])).stdout);
    expect([st.status, st.reason_code]).toEqual(['paused', 'wave_paused_signal']);
  });

  it('pauses in order when its terminal hangs up (a dropped ssh session), and resume finishes it', async () => {
    const slow = recorded({ steps: [{ sleep: 1500 }, ...IMPLEMENT_OK.steps] });
    for (const id of ['h1', 'h2']) script(`${id}.implement`, slow);
    const go = path.join(sb.dir, 'hang-up-now');
    // dx-batch on a terminal of its own (a pty), which is closed under it once both jobs run
    const terminal = spawn(
      'python3',
      [
        HANG_UP,
        go,
        '60',
        '--',
        process.execPath,
        BATCH_BIN,
        'start',
        '--items',
        items(['h1', 'h2']),
        '--wave-id',
        'w-hup',
      ],
      { env: sb.env, cwd: sb.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let report = '';
    terminal.stdout.on('data', (d: Buffer) => (report += d.toString()));
    const ended = new Promise((resolve) => terminal.on('close', resolve));
    await waitFor(
      () => runs().filter((x) => x[0] === 'h1' || x[0] === 'h2').length === 2,
      'both implement jobs running',
      30_000,
    );
    fs.writeFileSync(go, '');
    await ended;
    // ended by the hang-up itself once the pause was recorded: not by Node aborting on the gone
    // terminal (SIGABRT or a crash in its exit), and not left "running" with nobody running it
    expect(JSON.parse(report)).toEqual({ signal: 1 });
    const st = parseWave((await sb.batch(['status', '--wave-id', 'w-hup', '--json'])).stdout);
    expect(st).toMatchObject({
      status: 'paused',
      reason_code: 'wave_paused_signal',
      next_action: 'run_dx_batch_resume',
    });
    const r = await sb.batch(['resume', '--wave-id', 'w-hup', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseWave(r.stdout).items.map((i) => i.status)).toEqual(['APPROVED', 'APPROVED']);
  });

  it('lets exactly one of two concurrent starts of one wave run it', async () => {
    const ids = ['dup-a', 'dup-b'];
    const list = items(ids);
    const [a, b] = [
      spawnBatch(sb, ['start', '--items', list, '--wave-id', 'w-dup']),
      spawnBatch(sb, ['start', '--items', list, '--wave-id', 'w-dup']),
    ];
    const results = await Promise.all([a.done, b.done]);
    const codes = results.map((x) => x.code).sort();
    expect(codes, JSON.stringify(results)).toEqual([0, 1]);
    const loser = results.find((x) => x.code === 1)!;
    expect(loser.stderr).toMatch(/reason_code=(wave_already_running|wave_exists)/);
    for (const id of ids)
      expect(
        runs()
          .filter((x) => x[0] === id)
          .map((x) => x[1])
          .sort(),
      ).toEqual(['implement', 'review']);
  });

  it('cancel stops every running job and the orchestrator, and marks unfinished items CANCELLED', async () => {
    const hang = recorded({ steps: [{ write: '${batch:item}.wip' }, { hang: true }] });
    const ids = ['c1', 'c2', 'c3'];
    for (const id of ids) script(`${id}.implement`, hang);
    const { done } = spawnBatch(sb, ['start', '--items', items(ids), '--wave-id', 'w-cancel']);
    await waitFor(() => runs().filter((x) => x[0] === 'c1' || x[0] === 'c2').length === 2, 'two jobs running', 30_000);
    const agentPids = runs()
      .filter((x) => ids.includes(x[0]))
      .map((x) => Number(x[4]));
    // what an earlier orchestrator killed while writing a lease leaves: cancel clears it too
    const leases = wavePaths(path.join(sb.dir, 'batch'), 'w-cancel').leases;
    const abandoned = path.join(leases, '.c3+attempt1.lock.99999.1.tmp');
    fs.writeFileSync(
      abandoned,
      JSON.stringify({ wave_id: 'w-cancel', beads_id: 'c3', attempt: 1, token: 0, pid: 99999 }),
    );
    const r = await sb.batch(['cancel', '--wave-id', 'w-cancel', '--json']);
    expect(r.code, `${r.stdout}${r.stderr}`).toBe(0);
    expect(fs.existsSync(abandoned)).toBe(false);
    const out = CancelOutputSchema.parse(JSON.parse(r.stdout));
    expect(out.stopped_jobs.sort()).toEqual(['c1', 'c2']);
    expect(out.cancelled_items.sort()).toEqual(ids);
    await done;
    for (const pid of agentPids) await waitFor(() => !processExists(pid), `agent ${pid} gone`, 10_000);
    const st = await sb.batch(['status', '--wave-id', 'w-cancel', '--json']);
    const wave = parseWave(st.stdout);
    expect(wave.status).toBe('cancelled');
    expect(wave.items.map((i) => i.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    expect(runs().filter((x) => x[0] === 'c3')).toEqual([]);
    const doctor = await sb.batch(['doctor', '--wave-id', 'w-cancel', '--json']);
    expect(DoctorOutputSchema.parse(JSON.parse(doctor.stdout)).issues).toEqual([]);
  });

  it('fails fast with exec_saturation above the process cap, before dispatching anything', async () => {
    const wt = sb.worktree('sat-bg');
    await sb.dx(sb.fakeStartArgs('sat-bg', [{ hang: true }], wt));
    const r = await sb.batch([
      'start',
      '--items',
      items(['sat-a']),
      '--wave-id',
      'w-sat',
      '--exec-process-cap',
      '1',
      '--json',
    ]);
    expect(r.code).toBe(1);
    const wave = parseWave(r.stdout);
    expect(wave.status).toBe('failed');
    expect(wave.reason_code).toBe('exec_saturation');
    // the background job's agent and watcher
    expect(wave.error).toMatch(/live_processes=2 cap=1/);
    expect(runs().filter((x) => x[0] === 'sat-a')).toEqual([]);
    await sb.dx(['stop', '--beads', 'sat-bg']);
  });

  it('refuses bad input with one line, the documented exit code, and no state', async () => {
    const bad = await sb.batch(['start', '--items', 'ok,../x']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    // a valid beads id whose review job id (<id>-review) could not be one: it once implemented, then
    // had every review refused and ended blocked
    const long = `bd-${'a'.repeat(123)}`;
    const tooLong = await sb.batch(['start', '--items', items([long]), '--wave-id', 'w-long']);
    expect(tooLong.code).toBe(1);
    expect(tooLong.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /its review runs as <id>-review, which must stay within 128 characters \(reason_code=invalid_beads_id\)$/,
      ),
    ]);
    expect(fs.existsSync(path.join(sb.dir, 'batch', 'waves', 'w-long'))).toBe(false);
    // a wave reads its --prompt-file again for every attempt: a pipe (`<(…)`, which dx-runner start
    // takes) would give its text to the first attempt only, so it is refused
    const piped = spawnSync(
      'bash',
      ['-c', 'exec "$NODE" "$BATCH" start --items pipe-a --wave-id w-pipe --prompt-file <(printf "extra")'],
      { env: { ...sb.env, NODE: process.execPath, BATCH: BATCH_BIN }, encoding: 'utf8', timeout: 60_000 },
    );
    expect(piped.status).toBe(1);
    expect(piped.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /is a pipe: a wave reads its prompt file again for every attempt.*reason_code=prompt_file_invalid/,
      ),
    ]);
    expect(fs.existsSync(path.join(sb.dir, 'batch', 'waves', 'w-pipe'))).toBe(false);
    // a wave id that could not be a directory name is named as a wave id, by every command that takes one
    for (const args of [
      ['start', '--items', 'ok', '--wave-id', '../w'],
      ['status', '--wave-id', '../w'],
      ['report', '--wave-id', 'w x'],
      ['resume', '--wave-id', '../w'],
      ['cancel', '--wave-id', '../w'],
      ['doctor', '--wave-id', '../w'],
    ]) {
      const r = await sb.batch(args);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([
        expect.stringMatching(/^Error: Parsing --wave-id: invalid wave id .*\(reason_code=invalid_wave_id\)$/),
      ]);
    }
    // a --hosts that names none, a --worktree-base that is missing or a file: refused before any wave
    const file = path.join(sb.dir, 'not-a-dir');
    fs.writeFileSync(file, '');
    for (const [args, message] of [
      [['--hosts', ','], '--hosts lists no host (",")'],
      [
        ['--worktree-base', path.join(sb.dir, 'nope')],
        `--worktree-base ${path.join(sb.dir, 'nope')}: no such directory`,
      ],
      [['--worktree-base', file], `--worktree-base ${file}: not a directory`],
    ] as const) {
      const r = await sb.batch(['start', '--items', 'ok-b', '--wave-id', 'w-refused', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([`Error: ${message} (reason_code=invalid_flag)`]);
      expect(fs.existsSync(path.join(sb.dir, 'batch', 'waves', 'w-refused'))).toBe(false);
    }
    const unknown = await sb.batch(['status', '--wave-id', 'w-nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/wave w-nope/);
    const exists = await sb.batch(['start', '--items', 'ok-a', '--wave-id', 'w-ok']);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toMatch(/already exists.*dx-batch resume/);
    const canonical = path.join(sb.dir, 'canonical');
    fs.mkdirSync(canonical);
    const policy = path.join(sb.dir, 'canonical-policy.yaml');
    fs.writeFileSync(policy, `worktrees:\n  forbidden_repos: [${canonical}]\n`);
    const cwd = await sb.batch(['start', '--items', 'cw-a', '--wave-id', 'w-cwd', '--policy', policy], {
      cwd: canonical,
    });
    expect(cwd.code).toBe(22);
    expect(fs.existsSync(path.join(sb.dir, 'batch', 'waves', 'w-cwd', 'wave_state.json'))).toBe(false);
    const state = path.join(sb.dir, 'batch', 'waves', 'w-ok', 'wave_state.json');
    const before = fs.readFileSync(state, 'utf8');
    fs.writeFileSync(path.join(sb.dir, 'batch', 'waves', 'w-ok', 'wave_state.json.bak'), before);
    fs.writeFileSync(state, before.slice(0, 100));
    const corrupt = await sb.batch(['status', '--wave-id', 'w-ok']);
    expect(corrupt.code).toBe(1);
    expect(corrupt.stderr).toMatch(/wave_state\.json/);
    fs.writeFileSync(state, before);
    // a journal missing a transition: status refuses and doctor names the file
    const seq = (JSON.parse(before) as { journal_seq: number }).journal_seq;
    const journal = path.join(sb.dir, 'batch', 'waves', 'w-ok', `wave_state.journal.${seq}.jsonl`);
    fs.writeFileSync(journal, `${JSON.stringify({ seq: seq + 2, wave: {}, items: [] })}\n`);
    const gap = await sb.batch(['status', '--wave-id', 'w-ok']);
    expect(gap.code).toBe(1);
    expect(gap.stderr).toContain(`${journal}: transition ${seq + 1} is missing`);
    const doctor = DoctorOutputSchema.parse(
      JSON.parse((await sb.batch(['doctor', '--wave-id', 'w-ok', '--json'])).stdout),
    );
    expect(doctor.issues).toEqual([
      expect.objectContaining({
        type: 'wave_state_corrupt',
        severity: 'critical',
        message: expect.stringContaining(journal),
      }),
    ]);
    expect(doctor.recommendations.join(' ')).toMatch(/its journal/);
    fs.rmSync(journal);
  });
});
