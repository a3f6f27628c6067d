import { describe, expect, it } from 'vitest';
import { sampleWave } from '../testing/waves.js';
import type { WaveState } from '../waves/state.js';
import { createView } from './view.js';

function wave(): WaveState {
  const state = sampleWave('wave-1', ['bd-a', 'bd-b']);
  Object.assign(state.items[0], {
    status: 'IMPLEMENTING',
    phase: 'implement',
    attempt: 1,
    provider: 'opencode',
    started_at: new Date(Date.now() - 65_000).toISOString(),
  });
  state.stats = { total: 2, approved: 0, blocked: 0, implementing: 1, reviewing: 0 };
  return state;
}

function stream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, out: { isTTY, write: (s: string) => chunks.push(s) } as unknown as NodeJS.WriteStream };
}

describe('wave progress view', () => {
  it('redraws a table in place on a terminal: item, state, phase, attempt, provider, elapsed', () => {
    const { chunks, out } = stream(true);
    const view = createView(out, 'auto');
    view.render(wave());
    view.event(wave(), 'bd-a PENDING → IMPLEMENTING via opencode');
    expect(chunks[0]).toMatch(/wave wave-1: running .*approved 0\/2/);
    expect(chunks[0]).toMatch(/bd-a\s+IMPLEMENTING\s+implement\s+1\s+opencode\s+1m ?0?5s/);
    // the second frame moves the cursor up over the first and clears it
    // eslint-disable-next-line no-control-regex -- the redraw is made of ESC sequences
    expect(chunks[1]).toMatch(/^\u001b\[\d+F\u001b\[J$/);
    expect(chunks[2]).toContain('bd-a PENDING → IMPLEMENTING via opencode');
  });

  it('prints one timestamped line per event when not a terminal, and nothing when silent', () => {
    const { chunks, out } = stream(false);
    const view = createView(out, 'auto');
    view.render(wave());
    view.event(wave(), 'bd-b PENDING → IMPLEMENTING via opencode');
    expect(chunks).toEqual([
      expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z bd-b PENDING → IMPLEMENTING via opencode\n$/),
    ]);
    const silent = stream(true);
    createView(silent.out, 'silent').event(wave(), 'x');
    expect(silent.chunks).toEqual([]);
  });
});
