import { markdownCell } from '@dx/core';
import { nextActionText } from '@dx/core/next-actions';
import type { WaveOutput, WaveReport } from '../schemas.js';
import type { WaveState } from '../waves/state.js';

/** The sentence for each next action a wave can name. */
const WAVE_NEXT_ACTIONS: Record<string, string> = {
  monitor_wave_until_terminal: 'The wave is running; follow it with `dx-batch status`.',
  resume_wave_without_orchestrator:
    'The wave is marked running but no live orchestrator holds it (killed, or its machine restarted): continue it with `dx-batch resume`.',
  run_dx_batch_resume: 'The wave is paused; continue it with `dx-batch resume`.',
  raise_max_tokens_then_dx_batch_resume:
    'The wave spent its token budget: read `dx-batch report`, then go on with `dx-batch resume --max-tokens N` and a higher N.',
  run_dx_runner_prune_then_dx_batch_resume: 'Too many processes: run `dx-runner prune`, then `dx-batch resume`.',
  inspect_wave_error_then_dx_batch_resume: 'Read the wave error (`dx-batch doctor`), fix it, then `dx-batch resume`.',
  free_disk_space_then_dx_batch_resume:
    "dx-runner's state root is out of room: free space (`dx-runner status --disk` shows where it went, `dx-runner prune --retention` trims old jobs), then `dx-batch resume` (the stopped items keep their attempt and provider).",
  review_outcomes_before_restart: 'The wave was cancelled; review the job outcomes before starting again.',
  resolve_blocked_items_then_close: 'Some items are blocked: resolve them, then close the wave.',
  review_report_and_close_items: 'Every item finished: review `dx-batch report` and close the issues.',
  start_or_resume_wave: 'Start the wave, or resume it.',
};

/**
 * Whether an orchestrator holds a running or pending wave (`orchestratorOf` in leases/wave-lock):
 * read by `status` and `report`, which run beside it; `live` where the caller is that orchestrator.
 */
export type OrchestratorPresence = 'live' | 'gone';

/** What to do next with a wave, by its status, plus blocked items. */
export function waveNextAction(state: WaveState, orchestrator: OrchestratorPresence = 'live'): string {
  if ((state.status === 'running' || state.status === 'pending') && orchestrator === 'gone')
    return 'resume_wave_without_orchestrator';
  switch (state.status) {
    case 'running':
      return 'monitor_wave_until_terminal';
    case 'paused':
      return state.reason_code === 'token_budget_spent'
        ? 'raise_max_tokens_then_dx_batch_resume'
        : 'run_dx_batch_resume';
    case 'failed':
      if (state.reason_code === 'exec_saturation') return 'run_dx_runner_prune_then_dx_batch_resume';
      if (state.reason_code === 'disk_full' || state.reason_code === 'disk_low')
        return 'free_disk_space_then_dx_batch_resume';
      return 'inspect_wave_error_then_dx_batch_resume';
    case 'cancelled':
      return 'review_outcomes_before_restart';
    case 'completed':
      return (state.stats.blocked ?? 0) > 0 ? 'resolve_blocked_items_then_close' : 'review_report_and_close_items';
    default:
      return 'start_or_resume_wave';
  }
}

export function waveNextActionText(id: string): string {
  return nextActionText(id, WAVE_NEXT_ACTIONS) ?? '';
}

export function waveOutput(state: WaveState, orchestrator: OrchestratorPresence = 'live'): WaveOutput {
  const next = waveNextAction(state, orchestrator);
  return { ...state, next_action: next, next_action_text: waveNextActionText(next) };
}

const seconds = (a: string | null, b: string | null) =>
  a && b ? Math.max(0, Math.round((Date.parse(b) - Date.parse(a)) / 1000)) : null;

/** Per item: attempts, providers, verdicts, durations, tokens. */
export function buildWaveReport(state: WaveState, orchestrator: OrchestratorPresence = 'live'): WaveReport {
  const items = state.items.map((i) => ({
    beads_id: i.beads_id,
    status: i.status,
    reason_code: i.reason_code,
    verdict: i.verdict,
    attempts: i.attempts.length,
    implement_attempts: i.attempts.filter((a) => a.phase === 'implement').length,
    review_attempts: i.attempts.filter((a) => a.phase === 'review').length,
    revisions: i.revisions,
    providers: [...new Set(i.attempts.map((a) => a.provider))],
    hosts: [...new Set(i.attempts.map((a) => a.host))],
    duration_sec: seconds(i.started_at, i.completed_at),
    tokens_input: i.attempts.reduce((n, a) => n + (a.tokens_input ?? 0), 0),
    tokens_output: i.attempts.reduce((n, a) => n + (a.tokens_output ?? 0), 0),
    error: i.error,
    history: i.attempts,
  }));
  return {
    wave_id: state.wave_id,
    status: state.status,
    reason_code: state.reason_code,
    next_action: waveNextAction(state, orchestrator),
    next_action_text: waveNextActionText(waveNextAction(state, orchestrator)),
    created_at: state.created_at,
    started_at: state.started_at,
    completed_at: state.completed_at,
    duration_sec: seconds(state.started_at, state.completed_at),
    stats: state.stats,
    preflight: state.preflight,
    hosts: state.hosts,
    totals: {
      attempts: items.reduce((n, i) => n + i.attempts, 0),
      tokens_input: items.reduce((n, i) => n + i.tokens_input, 0),
      tokens_output: items.reduce((n, i) => n + i.tokens_output, 0),
      max_tokens: state.config.max_tokens,
    },
    items,
  };
}

export function renderWaveReportMarkdown(r: WaveReport): string {
  // reason codes and verdicts can come from an agent's contract: kept within their line or cell
  const d = (v: string | number | boolean | null | undefined) =>
    v === null || v === undefined || v === '' ? '-' : markdownCell(String(v));
  const lines = [
    `# dx-batch Report: ${r.wave_id}`,
    '',
    `- State: ${r.status} (${d(r.reason_code)})`,
    `- Next Action: ${r.next_action}`,
    `- Created: ${r.created_at}`,
    `- Started: ${d(r.started_at)}`,
    `- Completed: ${d(r.completed_at)}`,
    `- Duration: ${r.duration_sec === null ? '-' : `${r.duration_sec}s`}`,
    `- Attempts: ${r.totals.attempts} (tokens in ${r.totals.tokens_input} / out ${r.totals.tokens_output}${r.totals.max_tokens === null ? '' : `; budget ${r.totals.max_tokens}`})`,
    '',
    '## Preflight',
    ...r.preflight.map(
      (p) =>
        `- ${p.host === 'local' ? '' : `${p.host}: `}${p.provider}: ${p.available ? `available (${d(p.model)})` : `unavailable (${d(p.reason_code)})`}`,
    ),
    ...(r.hosts.length > 0
      ? [
          '',
          '## Hosts',
          ...r.hosts.map(
            (h) =>
              `- ${h.host}: ${h.status}${h.reason_code ? ` (${h.reason_code})` : ''}, max ${h.max_parallel} at once, providers ${h.providers.join(', ') || '-'}`,
          ),
        ]
      : []),
    '',
    '## Stats',
    ...Object.entries(r.stats).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '## Items',
    '',
    '| item | status | reason | verdict | attempts (impl/review) | revisions | providers | hosts | duration | tokens in/out |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...r.items.map(
      (i) =>
        `| ${i.beads_id} | ${i.status} | ${d(i.reason_code)} | ${d(i.verdict)} | ${i.attempts} (${i.implement_attempts}/${i.review_attempts}) | ${i.revisions} | ${i.providers.join(' → ') || '-'} | ${i.hosts.join(' → ') || '-'} | ${d(i.duration_sec)}s | ${i.tokens_input}/${i.tokens_output} |`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
