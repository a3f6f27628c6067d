import fs from 'node:fs';
import path from 'node:path';
import { markdownCell, markdownInline, stringifyJsonSafe, visibleText, writeFileAtomic } from '@dx/core';
import type { NightReport } from '../schemas.js';

/** A `## title` block of the report, left out when it has no rows. */
function section(title: string, rows: string[]): string[] {
  return rows.length > 0 ? ['', `## ${title}`, '', ...rows] : [];
}

export function renderMorningReport(r: NightReport): string {
  const lines = [
    `# Nightly dispatch ${r.run_id}${r.dry_run ? ' (dry run)' : ''}${r.simulation ? ' (rehearsal)' : ''}`,
    '',
    ...(r.simulation
      ? [
          `> **Rehearsal** with the simulator (${r.simulation.name}: ${r.simulation.description}); no real agent ran.`,
          `> Providers played: ${Object.entries(r.simulation.providers)
            .map(([p, s]) => `${p}=${s}`)
            .join(', ')}.`,
          '',
        ]
      : []),
    `- status: **${r.status}** (exit ${r.exit_code})${r.error ? ` — ${markdownInline(r.error)}` : ''}`,
    `- ${r.started_at} → ${r.completed_at}`,
    `- ready ${r.counts.ready} · claimed ${r.counts.claimed} · dispatched ${r.counts.dispatched} · skipped ${r.counts.skipped} · failed ${r.counts.failed}`,
    `- max parallel ${r.migration.max_parallel} (migration started ${r.migration.started_at ?? 'not recorded yet'}; ${r.migration.live_jobs} nightly job(s) were already running)`,
    `- work: ${r.work.query}; ${r.work.critical} critical bug(s)${r.work.overload ? ' — **overload protection: one dispatch this run**' : ''}`,
    `- tokens: ${r.tokens.spent_last_24h} spent by nightly jobs that ended in the last 24 h${r.tokens.max_per_day === null ? ' (no daily budget)' : ` of a daily budget of ${r.tokens.max_per_day}`}`,
    '',
    '## Provider',
    '',
    r.provider.selected
      ? `Selected **${r.provider.selected}** (${r.provider.model ?? 'default model'})${r.provider.fallback ? ' — a fallback' : ''}.`
      : 'No provider available.',
    ...(r.provider.primary_failure
      ? [
          '',
          `Primary failure: ${r.provider.primary_failure.provider}: ${r.provider.primary_failure.reason_code} — ${markdownInline(r.provider.primary_failure.error)}`,
        ]
      : []),
    ...(r.provider.warnings.length > 0
      ? ['', 'Fallback chain warnings:', '', ...r.provider.warnings.map((w) => `- ⚠ ${markdownInline(w)}`)]
      : []),
    '',
    '| provider | model | ok | reason | error |',
    '|---|---|---|---|---|',
    ...r.provider.preflight.map(
      (p) =>
        `| ${p.provider} | ${markdownCell(p.model ?? '-')} | ${p.ok ? 'yes' : 'no'} | ${p.reason_code ?? '-'} | ${markdownCell(p.error ?? '-')} |`,
    ),
    // the table's head only with rows under it: a night on this machine alone has no Hosts section
    ...section(
      'Hosts',
      r.hosts.length === 0
        ? []
        : [
            '| host | reachable | passing | cap | why not |',
            '|---|---|---|---|---|',
            ...r.hosts.map(
              (h) =>
                `| ${h.host} | ${h.reachable ? 'yes' : 'no'} | ${h.passing.join(', ') || '-'} | ${h.max_parallel ?? '-'} | ${h.reason_code ? `${h.reason_code}: ${markdownCell(h.error ?? '')}` : '-'} |`,
            ),
          ],
    ),
    ...section(
      'Dispatches left unsettled by earlier runs',
      r.interrupted.map(
        (d) => `- ${d.beads_id} (run ${d.run_id}, ${d.host}): **${d.outcome}** — ${markdownInline(d.reason)}`,
      ),
    ),
    ...section(
      'Jobs of earlier runs that ended',
      r.finished.map(
        (f) =>
          `- ${f.beads_id} (${f.host}): **${f.state}** (${f.reason_code}${f.exit_code === null ? '' : `, exit ${f.exit_code}`})${f.completed_at ? ` at ${f.completed_at}` : ''}${f.tokens === null ? '' : `, ${f.tokens} tokens`} — ${markdownInline(f.next_action_text)}`,
      ),
    ),
    ...section(
      'Stalled jobs stopped (their issues stay claimed: look at them)',
      r.stopped.map(
        (s) => `- ${s.beads_id} (${s.host}): **${s.reason_code}**${s.detail ? ` — ${markdownInline(s.detail)}` : ''}`,
      ),
    ),
    '',
    '## Items',
    '',
    ...(r.items.length === 0
      ? ['No ready items.']
      : [
          '| item | action | reason | provider | host | run instance |',
          '|---|---|---|---|---|---|',
          ...r.items.map(
            (i) =>
              `| ${i.beads_id} | ${i.action} | ${markdownCell(i.reason ?? '-')} | ${i.provider ?? '-'} | ${i.host ?? '-'} | ${i.run_instance ?? '-'} |`,
          ),
        ]),
    '',
    '## Alerts',
    '',
    ...(r.alerts.length === 0
      ? ['None.']
      : r.alerts.map((a) => `- ${a.kind}: ${a.result}${a.detail ? ` (${markdownInline(a.detail)})` : ''}`)),
    '',
  ];
  return lines.join('\n');
}

/** Morning reports kept by `nightly-dispatch prune` and the nightly run's daily retention: `<run-id>.{md,json}`. */
export function reportRuns(root: string): Array<{ runId: string; files: string[]; time: number }> {
  const dir = path.join(root, 'reports');
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const runs = new Map<string, string[]>();
  for (const name of names) {
    const m = /^(\d{8}T\d{6}Z)\.(md|json)$/.exec(name);
    if (m) runs.set(m[1], [...(runs.get(m[1]) ?? []), path.join(dir, name)]);
  }
  return [...runs].map(([runId, files]) => ({
    runId,
    files,
    time: Date.parse(runId.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')) || 0,
  }));
}

/** `<root>/reports/<run-id>.{md,json}` plus `latest.{md,json}`. */
export function writeMorningReport(root: string, report: NightReport): void {
  const dir = path.join(root, 'reports');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // a person reads the markdown with cat: item titles and errors come from outside, so no raw control characters
  const md = visibleText(renderMorningReport(report));
  const json = `${stringifyJsonSafe(report)}\n`;
  writeFileAtomic(report.report_files.markdown, md);
  writeFileAtomic(report.report_files.json, json);
  writeFileAtomic(path.join(dir, 'latest.md'), md);
  writeFileAtomic(path.join(dir, 'latest.json'), json);
}
