/**
 * dx-batch waves whose reviews a real agent CLI runs (pinned, installed by the test set-up) against
 * the fake model server on 127.0.0.1; the implement jobs are the fake agent's.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFakeModelServer } from '../fixtures/fake-model-server.mjs';
import { createBatchFixture, itemById, parseWave, type BatchFixture } from '../helpers/batch.js';
import { createSandbox, type Sandbox } from '../helpers/sandbox.js';

const realBin = inject('realCliBin');
const describeReal = realBin ? describe : describe.skip;

type Server = Awaited<ReturnType<typeof startFakeModelServer>>;
let server: Server;
let sb: Sandbox;
let fx: BatchFixture;
beforeAll(async () => {
  server = await startFakeModelServer();
  sb = createSandbox({ PATH: `${realBin}:${process.env.PATH}`, DX_RUNNER_MUTATION_POLL_SEC: '0.5' });
  fx = createBatchFixture(sb, { retry_chain: '[fake]', review_chain: '[gemini]' });
  fs.appendFileSync(
    fx.policy,
    'providers:\n  gemini:\n    canonical_model: gemini-2.5-flash\n    allowed_models: [gemini-2.5-flash]\n    max_retries: 0\n',
  );
});
afterAll(async () => {
  await sb?.cleanup();
  await server?.close();
});

/** A wave of one item whose reviewer (real Gemini CLI) is answered `said` by the model. */
async function reviewedBy(id: string, said: string) {
  const r = await sb.batch(['start', '--items', fx.items([id]), '--wave-id', `w-${id}`, '--json'], {
    env: { GEMINI_API_KEY: 'fake-key-for-tests', GOOGLE_GEMINI_BASE_URL: server.base(server.sayMode(said)) },
    timeoutMs: 180_000,
  });
  expect(r.stdout, r.stderr).not.toBe('');
  return itemById(parseWave(r.stdout), id);
}

describeReal('a wave reviewed by the real Gemini CLI', () => {
  it('a review whose model gives no verdict is not an approval (Gemini logs the prompt and its example)', async () => {
    const item = await reviewedBy('gem-silent', 'I looked at the change: the tests fail.');
    expect(item.status).toBe('BLOCKED');
    const review = item.attempts.find((a) => a.phase === 'review');
    expect([review?.provider, review?.result, review?.reason_code, review?.verdict]).toEqual([
      'gemini',
      'exited_ok',
      'review_contract_missing_or_invalid',
      null,
    ]);
  }, 200_000);

  it('a review whose model ends with its verdict decides the item', async () => {
    const contract = {
      phase: 'review',
      beads_id: 'gem-says',
      verdict: 'APPROVED',
      findings: [],
      summary: 'read the diff, ran the tests',
      timestamp: '2026-12-02T00:00:00Z',
    };
    const item = await reviewedBy('gem-says', `Looks right.\nCONTRACT:JSON:${JSON.stringify(contract)}`);
    expect(item.status).toBe('APPROVED');
    expect(item.attempts.map((a) => [a.phase, a.provider, a.reason_code])).toEqual([
      ['implement', 'fake', 'implement_completed'],
      ['review', 'gemini', 'review_approved'],
    ]);
  }, 200_000);
});
