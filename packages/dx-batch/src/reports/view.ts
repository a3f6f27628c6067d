import { formatDuration, renderTable } from '@dx/cli-kit';
import { tokensSpent, type WaveState } from '../waves/state.js';

/** How a running wave shows itself: a live table on a terminal, plain timestamped lines otherwise. */
export interface ProgressView {
  event(state: WaveState, line: string): void;
  render(state: WaveState): void;
  close(): void;
}

const since = (iso: string | null, until: string | null = null) =>
  iso ? Math.max(0, Math.round(((until ? Date.parse(until) : Date.now()) - Date.parse(iso)) / 1000)) : null;

export function waveTable(state: WaveState): string {
  return renderTable(
    ['item', 'state', 'phase', 'attempt', 'provider', 'elapsed', 'reason'],
    state.items.map((i) => [
      i.beads_id,
      i.status,
      i.status === 'APPROVED' || i.status === 'BLOCKED' || i.status === 'CANCELLED' ? null : i.phase,
      i.attempt,
      i.provider,
      formatDuration(since(i.started_at, i.completed_at)),
      i.reason_code,
    ]),
    40,
  );
}

export function waveHeadline(state: WaveState): string {
  const s = state.stats;
  const budget = state.config.max_tokens === null ? '' : `  tokens ${tokensSpent(state)}/${state.config.max_tokens}`;
  return `wave ${state.wave_id}: ${state.status}  elapsed ${formatDuration(since(state.started_at, state.completed_at))}  approved ${s.approved ?? 0}/${s.total ?? 0}  blocked ${s.blocked ?? 0}  active ${(s.implementing ?? 0) + (s.reviewing ?? 0)}${budget}`;
}

class LineView implements ProgressView {
  constructor(private readonly out: NodeJS.WritableStream) {}
  event(_state: WaveState, line: string): void {
    this.out.write(`${new Date().toISOString()} ${line}\n`);
  }
  render(): void {}
  close(): void {}
}

class LiveView implements ProgressView {
  private drawn = 0;
  private readonly recent: string[] = [];
  constructor(private readonly out: NodeJS.WriteStream) {}
  event(state: WaveState, line: string): void {
    this.recent.push(`${new Date().toISOString().slice(11, 19)} ${line}`);
    if (this.recent.length > 5) this.recent.shift();
    this.render(state);
  }
  render(state: WaveState): void {
    const text = [waveHeadline(state), '', waveTable(state), '', ...this.recent].join('\n');
    if (this.drawn > 0) this.out.write(`\u001b[${this.drawn}F\u001b[J`);
    this.out.write(`${text}\n`);
    this.drawn = text.split('\n').length;
  }
  close(): void {}
}

class SilentView implements ProgressView {
  event(): void {}
  render(): void {}
  close(): void {}
}

export function createView(out: NodeJS.WriteStream, mode: 'auto' | 'silent'): ProgressView {
  if (mode === 'silent') return new SilentView();
  return out.isTTY ? new LiveView(out) : new LineView(out);
}
