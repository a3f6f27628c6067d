import fs from 'node:fs';
import { HEALTH_STATES } from '../health/states.js';
import { decodeRecord } from '../jobs/record-io.js';
import type { OutcomeRecord } from '../jobs/records.js';
import type { JobSnapshot } from '../jobs/store.js';
import { toJobView } from '../jobs/view.js';
import type { FleetReport, JobReport } from '../schemas/outputs.js';
import { Redactor } from '../secrets/redact.js';
import { jobPaths } from '../state/layout.js';
import { markdownCell, markdownCode, markdownInline } from './markdown.js';

/** One outcome file (current or rotated), or undefined when it is missing or does not parse: for reports and statistics, never for decisions. */
export function readOutcomeFile(file: string): OutcomeRecord | undefined {
  try {
    return decodeRecord('outcome', fs.readFileSync(file, 'utf8'), file);
  } catch {
    return undefined;
  }
}

/** Every finished instance of this beads id: rotated outcomes and other providers' runs, oldest first. */
function history(job: JobSnapshot): JobReport['history'] {
  const entries: OutcomeRecord[] = [];
  for (const provider of [job.paths.provider, ...job.otherProviders]) {
    const paths = jobPaths(job.paths.root, provider, job.paths.beads);
    let names: string[];
    try {
      names = fs.readdirSync(paths.dir);
    } catch {
      continue;
    }
    const prefix = `${job.paths.beads}.outcome`;
    for (const name of names) {
      if (name !== prefix && !(name.startsWith(`${prefix}.`) && /^\d+$/.test(name.slice(prefix.length + 1)))) continue;
      const outcome = readOutcomeFile(`${paths.dir}/${name}`);
      if (outcome) entries.push(outcome);
    }
  }
  entries.sort((a, b) => a.completed_at.localeCompare(b.completed_at));
  return entries.map((o) => ({
    provider: o.provider,
    run_instance: o.run_instance,
    state: o.state,
    reason_code: o.reason_code,
    exit_code: o.exit_code,
    started_at: o.started_at ?? null,
    completed_at: o.completed_at,
    duration_sec: o.duration_sec,
    selected_model: o.selected_model,
  }));
}

/** `report --beads`: outcome, timings, retries, fallback, model, tokens/cost and the evidence. */
export function buildJobReport(job: JobSnapshot, redactor: Redactor = Redactor.fromEnv()): JobReport {
  const view = toJobView(job);
  const o = job.outcome;
  const hb = job.heartbeat;
  const frozen = o ? o.frozen_sec : hb?.frozen_sec;
  return redactor.redactDeep({
    ...view,
    summary: o?.summary ?? null,
    final_text: o?.final_text ?? null,
    failure_class: o?.failure_class ?? null,
    reset_at: o?.reset_at ?? null,
    first_started_at: job.meta?.first_started_at ?? job.meta?.started_at ?? null,
    evidence: {
      mutations: o?.mutations ?? hb?.mutations ?? 0,
      changed_files: o?.changed_files ?? [],
      new_untracked_files: o?.new_untracked_files ?? 0,
      commits: o?.commits ?? [],
      start_head: o?.start_head ?? null,
      end_head: o?.end_head ?? null,
      writes_refused: o?.writes_refused ?? hb?.writes_refused ?? 0,
    },
    usage: {
      tokens_input: o?.tokens_input ?? hb?.tokens_input ?? null,
      tokens_output: o?.tokens_output ?? hb?.tokens_output ?? null,
      cost_usd: o?.cost_usd ?? hb?.cost_usd ?? null,
      provider_retries: o?.provider_retries ?? hb?.provider_retries ?? 0,
    },
    history: history(job),
    ...(frozen ? { frozen_sec: frozen } : {}),
  });
}

export function buildFleetReport(jobs: JobSnapshot[]): FleetReport {
  const redactor = Redactor.fromEnv();
  const reports = jobs
    .map((j) => buildJobReport(j, redactor))
    .sort((a, b) => (b.started_at ?? '').localeCompare(a.started_at ?? ''));
  const totals = Object.fromEntries(HEALTH_STATES.map((s) => [s, 0])) as FleetReport['totals'];
  for (const r of reports) totals[r.state]++;
  return { generated_at: new Date().toISOString(), totals, jobs: reports };
}

const dash = (v: string | number | boolean | null | undefined): string =>
  v === null || v === undefined || v === '' ? '-' : markdownInline(String(v));
/** A table cell, `-` when empty. */
const cell = (v: string | number | null | undefined): string => markdownCell(dash(v));
const list = (items: string[], max = 20): string =>
  items.length === 0
    ? '-'
    : items
        .slice(0, max)
        .map((i) => markdownCode(i))
        .join(', ') + (items.length > max ? ` (+${items.length - max} more)` : '');

export function renderJobReportMarkdown(r: JobReport): string {
  const lines = [
    `# Report: ${r.beads}`,
    '',
    '## Summary',
    `- Provider: ${dash(r.provider)}`,
    `- State: ${r.state} (${dash(r.reason_code)})`,
    `- Next Action: ${r.next_action_text} (\`${r.next_action}\`)`,
    `- Started: ${dash(r.started_at)}`,
    `- Duration: ${r.duration_sec ?? r.elapsed_sec ?? 0}s${r.frozen_sec ? ` (${r.frozen_sec}s of it frozen: the machine slept)` : ''}`,
    `- Retries: ${r.retries}`,
    `- Selected Model: ${dash(r.selected_model)}`,
    `- Fallback Reason: ${dash(r.fallback_reason)}`,
    `- Provider Switch From: ${r.provider_switch_from.length > 0 ? r.provider_switch_from.join(', ') : 'none'}`,
    '',
    '## Outcome',
    `- Exit Code: ${dash(r.exit_code)}`,
    `- Outcome State: ${dash(r.outcome_state)}`,
    `- Reason: ${dash(r.reason_code)}`,
    `- Failure Class: ${dash(r.failure_class)}`,
    ...(r.reset_at ? [`- Rate Limit Resets At: ${r.reset_at}`] : []),
    `- Completed: ${dash(r.completed_at)}`,
    `- Summary: ${dash(r.summary)}`,
    '',
    '## Evidence',
    `- Mutations: ${r.evidence.mutations}`,
    `- Changed Files: ${list(r.evidence.changed_files)}`,
    `- Commits: ${list(r.evidence.commits.map((c) => c.slice(0, 12)))}`,
    `- Writes Refused: ${r.evidence.writes_refused}`,
    '',
    '## Usage',
    `- Tokens In: ${dash(r.usage.tokens_input)}`,
    `- Tokens Out: ${dash(r.usage.tokens_output)}`,
    `- Cost (USD): ${dash(r.usage.cost_usd)}`,
    `- Provider Retries: ${r.usage.provider_retries}`,
    '',
    '## Metrics',
    `- Host: ${dash(r.host)}`,
    `- CWD: ${dash(r.cwd)}`,
    `- Worktree: ${dash(r.worktree)}`,
    `- Run Instance: ${dash(r.run_instance)}`,
    `- Events: ${r.events} (tool calls: ${r.tool_calls})`,
    `- Log: ${dash(r.log)} (${r.log_bytes} bytes${r.log_bytes_dropped > 0 ? `; cut to stay under limits.max_log_mb: ${r.log_bytes_dropped} bytes dropped between its beginning and its end` : ''})`,
  ];
  if (r.history.length > 0) {
    lines.push(
      '',
      '## History',
      '',
      '| completed | provider | state | reason | exit | duration | model |',
      '|---|---|---|---|---|---|---|',
    );
    for (const h of r.history) {
      lines.push(
        `| ${cell(h.completed_at)} | ${cell(h.provider)} | ${cell(h.state)} | ${cell(h.reason_code)} | ${cell(h.exit_code)} | ${cell(h.duration_sec)}s | ${cell(h.selected_model)} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderFleetReportMarkdown(r: FleetReport): string {
  const lines = [`# dx-runner report (${r.generated_at})`, '', '## Totals', ''];
  for (const [state, n] of Object.entries(r.totals)) if (n > 0) lines.push(`- ${state}: ${n}`);
  if (r.jobs.length === 0) lines.push('- no jobs recorded');
  lines.push(
    '',
    '## Jobs',
    '',
    '| beads | provider | state | reason | retries | duration | mutations | tokens in/out |',
    '|---|---|---|---|---|---|---|---|',
  );
  for (const j of r.jobs) {
    lines.push(
      `| ${j.beads} | ${cell(j.provider)} | ${j.state} | ${cell(j.reason_code)} | ${j.retries} | ${j.duration_sec ?? j.elapsed_sec ?? 0}s | ${j.evidence.mutations} | ${dash(j.usage.tokens_input)}/${dash(j.usage.tokens_output)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
