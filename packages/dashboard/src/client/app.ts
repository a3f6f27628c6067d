// dx-runner dashboard: plain DOM, no framework. Every value from the server is put on the page as
// text (textContent / text nodes / SVG attributes), never parsed as HTML: agents write summaries,
// file names and log lines, and none of that may run as code here.

import type {
  HostsResponse,
  JobDetail,
  JobRow,
  JobsResponse,
  NightDetail,
  NightsResponse,
  ProvidersResponse,
  ProviderWindow,
  WaveDetail,
  WavesResponse,
} from '../schemas.js';

type WaveReport = WaveDetail['report'];
type Attempt = WaveReport['items'][number]['history'][number];
type DailyCounts = ProvidersResponse['providers'][number]['daily'][number];

const main = document.getElementById('main')!;
const SVG_NS = 'http://www.w3.org/2000/svg';

type Attr = string | number | boolean | null | undefined;
/** What h() and s() accept as children: text, nodes, nothing, or lists of those. */
type Child = Node | string | number | null | undefined | false | Child[];

function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c);
    else if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  }
}

/** An element with attributes and children; strings become text nodes. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, Attr> = {}, ...children: Child[]) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs))
    if (v !== null && v !== undefined && v !== false) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

function s(tag: string, attrs: Record<string, Attr> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  append(el, children);
  return el;
}

const dash = (v: Attr): string => (v === null || v === undefined || v === '' ? '–' : String(v));
const badge = (state: string | null) => h('span', { class: `badge s-${state}` }, dash(state));
const num = (n: number | null | undefined) => (n === null || n === undefined ? '–' : n.toLocaleString('en-US'));
const money = (n: number | null | undefined) => (n === null || n === undefined ? '–' : `$${n.toFixed(n < 1 ? 4 : 2)}`);

function duration(sec: number | null | undefined): string {
  if (sec === null || sec === undefined) return '–';
  sec = Math.round(sec);
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m ${sec % 60}s`;
  return `${Math.floor(sec / 3600)}h ${Math.floor((sec % 3600) / 60)}m`;
}

/** `+90s`: a host's clock against this machine's (as `fleet status` shows it). */
function clockOffset(ms: number): string {
  return `${ms < 0 ? '-' : '+'}${Math.round(Math.abs(ms) / 1000)}s`;
}

function ago(iso: string | null): string {
  if (!iso) return '–';
  const sec = (Date.now() - Date.parse(iso)) / 1000;
  return Number.isFinite(sec) ? `${duration(Math.max(0, sec))} ago` : dash(iso);
}

const time = (iso: string | null) =>
  iso ? h('time', { datetime: iso, title: iso }, iso.replace('T', ' ').slice(0, 19)) : '–';

/** One call of the dashboard's API; its answer has the shape of the schema named for it (schemas.ts). */
async function api<T>(path: string): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', headers: { accept: 'application/json' } });
  const body = (await res.json().catch(() => ({ error: `HTTP ${res.status}` }))) as T & { error?: string };
  if (!res.ok) throw new Error(body.error ?? `HTTP ${res.status}`);
  return body;
}

function table(headers: string[], rows: Child[], attrs: Record<string, Attr> = {}) {
  return h(
    'table',
    attrs,
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        headers.map((x) => h('th', {}, x)),
      ),
    ),
    h('tbody', {}, rows),
  );
}

function facts(pairs: Array<[string, Child] | null | false>) {
  return h(
    'dl',
    { class: 'facts' },
    pairs
      .filter((p): p is [string, Child] => Boolean(p))
      .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v instanceof Node ? v : dash(v as Attr))]),
  );
}

function card(k: string, v: Child) {
  return h('div', { class: 'card' }, h('div', { class: 'v' }, v), h('div', { class: 'k' }, k));
}

function show(...nodes: Child[]): void {
  main.replaceChildren();
  append(main, nodes);
}

function showError(err: unknown): void {
  show(h('div', { class: 'error-box', role: 'alert' }, err instanceof Error ? err.message : String(err)));
}

// ---------------------------------------------------------------- jobs

const jobs = new Map<string, JobRow>();
const filters: Record<'state' | 'provider' | 'host' | 'q', string> = { state: '', provider: '', host: '', q: '' };
// a browser lays out a 1,000-row table in about a second on a small machine: rows come a page at a time
const PAGE_ROWS = 200;
let rowLimit = PAGE_ROWS;

function jobRow(j: JobRow) {
  const last = j.last_event_at ? `${dash(j.last_event_kind)} ${ago(j.last_event_at)}` : '–';
  return h(
    'tr',
    { 'data-beads': j.beads, class: j.live ? 'live' : null },
    h(
      'td',
      {},
      h('a', { href: `#/job/${encodeURIComponent(j.beads)}?provider=${encodeURIComponent(j.provider)}` }, j.beads),
    ),
    h('td', { class: 'state' }, badge(j.state)),
    h('td', {}, j.provider),
    h('td', {}, dash(j.model)),
    h('td', {}, dash(j.host)),
    h('td', { class: 'num' }, duration(j.elapsed_sec)),
    h('td', {}, last),
    h(
      'td',
      { class: 'num' },
      j.tokens_input === null && j.tokens_output === null ? '–' : `${num(j.tokens_input)} / ${num(j.tokens_output)}`,
    ),
    h('td', { class: 'num' }, money(j.cost_usd)),
    h('td', { class: 'reason' }, dash(j.reason_code)),
    h('td', { class: 'wrap', title: j.next_action }, dash(j.next_action_text || j.next_action)),
    h('td', { class: 'wrap summary' }, h('div', { class: 'clamp' }, dash(j.summary))),
  );
}

function sortedJobs() {
  return [...jobs.values()].sort((a, b) => {
    if (a.live !== b.live) return a.live ? -1 : 1;
    if (a.live) return (a.started_at ?? '').localeCompare(b.started_at ?? '');
    return (b.completed_at ?? '').localeCompare(a.completed_at ?? '');
  });
}

function matches(j: JobRow): boolean {
  if (filters.state && j.state !== filters.state) return false;
  if (filters.provider && j.provider !== filters.provider) return false;
  if (filters.host && (j.host ?? '') !== filters.host) return false;
  if (filters.q && !`${j.beads} ${j.owner ?? ''} ${j.summary ?? ''}`.toLowerCase().includes(filters.q)) return false;
  return true;
}

function select(name: 'state' | 'provider' | 'host', label: string, values: string[]) {
  const el = h('select', { name, 'aria-label': label }, h('option', { value: '' }, `all ${label}`));
  for (const v of [...new Set(values)].sort()) el.append(h('option', { value: v }, v));
  el.value = filters[name];
  el.addEventListener('change', () => {
    filters[name] = el.value;
    rowLimit = PAGE_ROWS;
    renderJobs();
  });
  return el;
}

function renderJobs() {
  const all = sortedJobs();
  const shown = all.filter(matches);
  const live = all.filter((j) => j.live).length;
  const search = h('input', { type: 'search', placeholder: 'beads, owner or summary', 'aria-label': 'search' });
  search.value = filters.q;
  search.addEventListener('input', () => {
    filters.q = search.value.toLowerCase();
    rowLimit = PAGE_ROWS;
    const rows = document.querySelector('#jobs-table tbody');
    rows?.replaceChildren(...sortedJobs().filter(matches).slice(0, rowLimit).map(jobRow));
  });
  show(
    h('h1', {}, 'Jobs'),
    h('div', { class: 'cards' }, card('live', live), card('finished', all.length - live), card('shown', shown.length)),
    h(
      'div',
      { class: 'filters' },
      select(
        'state',
        'states',
        all.map((j) => j.state),
      ),
      select(
        'provider',
        'providers',
        all.map((j) => j.provider),
      ),
      select(
        'host',
        'hosts',
        all.map((j) => j.host ?? ''),
      ),
      search,
    ),
    table(
      [
        'beads',
        'state',
        'provider',
        'model',
        'host',
        'elapsed',
        'last progress',
        'tokens in / out',
        'cost',
        'reason',
        'next action',
        'summary',
      ],
      shown.slice(0, rowLimit).map(jobRow),
      { id: 'jobs-table' },
    ),
  );
  if (shown.length > rowLimit) {
    const more = h(
      'button',
      { type: 'button', id: 'more-jobs' },
      `show ${Math.min(PAGE_ROWS, shown.length - rowLimit)} more (${shown.length - rowLimit} not shown)`,
    );
    more.addEventListener('click', () => {
      rowLimit += PAGE_ROWS;
      renderJobs();
    });
    main.append(h('div', { class: 'more' }, more));
  }
  if (all.length === 0) main.append(h('p', { class: 'muted' }, 'No job recorded yet in this state root.'));
}

async function loadJobs() {
  const body = await api<JobsResponse>('/api/jobs');
  jobs.clear();
  for (const j of body.jobs) jobs.set(j.beads, j);
}

// ---------------------------------------------------------------- one job

async function renderJob(beads: string, provider: string | null) {
  const q = provider ? `?provider=${encodeURIComponent(provider)}` : '';
  const d = await api<JobDetail>(`/api/jobs/${encodeURIComponent(beads)}${q}`);
  const r = d.report;
  const ev = r.evidence;
  show(
    h('h1', {}, r.beads, ' ', badge(r.state)),
    facts([
      ['provider', r.provider],
      ['model', r.selected_model],
      ['host', r.host],
      ['owner', d.owner],
      ['outcome', r.outcome_state ? badge(r.outcome_state) : 'running'],
      ['reason', r.reason_code],
      ['next action', r.next_action_text || r.next_action],
      ['started', time(r.started_at)],
      ['completed', time(r.completed_at)],
      ['elapsed', duration(r.elapsed_sec)],
      ['retries', r.retries],
      ['fallback', r.fallback_reason],
      ['tokens in / out', `${num(r.usage.tokens_input)} / ${num(r.usage.tokens_output)}`],
      ['cost', money(r.usage.cost_usd)],
      ['summary', h('span', { class: 'summary' }, dash(r.summary))],
      ['final message', h('span', { class: 'final-text' }, dash(r.final_text))],
      ['worktree', r.worktree],
    ]),
    h('h2', {}, 'Evidence'),
    facts([
      ['mutations', ev.mutations],
      [
        'changed files',
        ev.changed_files.length
          ? h(
              'ul',
              { class: 'files' },
              ev.changed_files.map((f) => h('li', {}, f)),
            )
          : '–',
      ],
      [
        'commits',
        ev.commits.length
          ? h(
              'ul',
              {},
              ev.commits.map((c) => h('li', {}, c)),
            )
          : '–',
      ],
      ['head', `${dash(ev.start_head)} → ${dash(ev.end_head)}`],
      ['writes refused', ev.writes_refused],
    ]),
    h('h2', {}, 'Timeline'),
    h(
      'ol',
      { class: 'timeline' },
      d.timeline.map((e) => h('li', { class: `k-${e.kind}` }, time(e.at), badge(e.kind), ' ', e.text)),
    ),
    h('h2', {}, 'Log tail'),
    h('pre', { class: 'log' }, d.log_tail.length ? d.log_tail.join('\n') : '(no log)'),
    h('h2', {}, 'Commands'),
    h('p', { class: 'muted' }, 'Run these in a terminal; the dashboard changes nothing.'),
    d.commands.map((c) => h('div', {}, h('div', { class: 'muted' }, c.label), h('pre', { class: 'cmd' }, c.command))),
  );
}

// ---------------------------------------------------------------- waves

const RESULT_CLASS: Record<string, string> = {
  success: 'success',
  exited_ok: 'success',
  approved: 'success',
  APPROVED: 'success',
  no_op: 'no_op',
  revision_required: 'no_op',
  rate_limited: 'rate_limited',
};
const resultClass = (a: Attempt) =>
  a.completed_at === null
    ? 'running'
    : (RESULT_CLASS[a.verdict ?? ''] ?? RESULT_CLASS[a.result ?? ''] ?? (a.result ? 'error' : 'other'));

function gantt(report: WaveReport) {
  const attempts = report.items.flatMap((i) => i.history);
  const starts = attempts.map((a) => Date.parse(a.started_at)).filter(Number.isFinite);
  if (starts.length === 0) return h('p', { class: 'muted' }, 'No attempt started yet.');
  const t0 = Math.min(...starts);
  const ends = attempts.map((a) => (a.completed_at ? Date.parse(a.completed_at) : Date.now()));
  const t1 = Math.max(...ends, t0 + 1000);
  const left = 150;
  const width = 900;
  const rowH = 22;
  const x = (t: number) => left + ((t - t0) / (t1 - t0)) * (width - left - 10);
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${report.items.length * rowH + 24}`,
    width: '100%',
    role: 'img',
    'aria-label': 'attempts per item over time',
    class: 'gantt',
  });
  report.items.forEach((item, row) => {
    const y = row * rowH + 4;
    svg.append(s('text', { x: 4, y: y + 14 }, item.beads_id));
    for (const a of item.history) {
      const start = Date.parse(a.started_at);
      const end = Date.parse(a.completed_at ?? new Date().toISOString());
      const w = Math.max(3, x(end) - x(start));
      const cls = resultClass(a);
      const bar = s('rect', {
        x: x(start),
        y,
        width: w,
        height: rowH - 6,
        rx: 3,
        class: `bar-${cls}`,
        'data-item': item.beads_id,
      });
      bar.append(
        s(
          'title',
          {},
          `${item.beads_id} ${a.phase} #${a.attempt} on ${a.provider}@${a.host}: ${a.verdict ?? a.result ?? 'running'} (${duration(a.duration_sec)})`,
        ),
      );
      svg.append(bar);
      if (w > 60) svg.append(s('text', { x: x(start) + 4, y: y + 12, class: 'on-bar' }, `${a.phase[0]} ${a.provider}`));
    }
  });
  const axisY = report.items.length * rowH + 8;
  svg.append(s('line', { x1: left, x2: width - 10, y1: axisY, y2: axisY, class: 'axis' }));
  svg.append(s('text', { x: left, y: axisY + 14 }, new Date(t0).toISOString().slice(11, 19)));
  svg.append(s('text', { x: width - 70, y: axisY + 14 }, `+${duration((t1 - t0) / 1000)}`));
  return svg;
}

function legend(kinds: string[]) {
  return h(
    'div',
    { class: 'legend' },
    kinds.map((k) => h('span', { class: `l-${k}` }, k.replace('_', ' '))),
  );
}

function counts(c: Record<string, number>) {
  return Object.entries(c).map(([k, v]) => h('span', {}, badge(k), ` ${v} `));
}

async function renderWaves() {
  const body = await api<WavesResponse>('/api/waves');
  show(
    h('h1', {}, 'Waves'),
    table(
      ['wave', 'status', 'items', 'by state', 'created', 'elapsed', 'tokens in / out', 'cost'],
      body.waves.map((w) =>
        h(
          'tr',
          { 'data-wave': w.wave_id },
          h('td', {}, h('a', { href: `#/wave/${encodeURIComponent(w.wave_id)}` }, w.wave_id)),
          h('td', {}, badge(w.status)),
          h('td', { class: 'num' }, w.items),
          h('td', {}, counts(w.counts)),
          h('td', {}, time(w.created_at)),
          h(
            'td',
            { class: 'num' },
            w.started_at
              ? duration((Date.parse(w.completed_at ?? new Date().toISOString()) - Date.parse(w.started_at)) / 1000)
              : '–',
          ),
          h('td', { class: 'num' }, `${num(w.tokens_input)} / ${num(w.tokens_output)}`),
          h('td', { class: 'num' }, money(w.cost_usd)),
        ),
      ),
      { id: 'waves-table' },
    ),
    body.unreadable.map((u) => h('div', { class: 'error-box' }, `wave ${u.wave_id}: ${u.error}`)),
  );
  if (body.waves.length === 0 && body.unreadable.length === 0)
    main.append(h('p', { class: 'muted' }, `No dx-batch wave under ${body.batch_dir}.`));
}

async function renderWave(id: string) {
  const d = await api<WaveDetail>(`/api/waves/${encodeURIComponent(id)}`);
  const r = d.report;
  show(
    h('h1', {}, `Wave ${r.wave_id} `, badge(r.status)),
    h(
      'div',
      { class: 'cards' },
      card('items', d.summary.items),
      card('attempts', r.totals.attempts),
      card('tokens in / out', `${num(r.totals.tokens_input)} / ${num(r.totals.tokens_output)}`),
      r.totals.max_tokens === null ? null : card('token budget', num(r.totals.max_tokens)),
      card('cost', money(d.summary.cost_usd)),
      card('elapsed', duration(r.duration_sec)),
    ),
    h('p', {}, counts(d.summary.counts)),
    h('p', { class: 'muted' }, r.next_action_text),
    h('h2', {}, 'Timeline'),
    legend(['success', 'no_op', 'error', 'rate_limited', 'running']),
    gantt(r),
    h('h2', {}, 'Items'),
    table(
      ['item', 'status', 'verdict', 'attempts', 'providers', 'hosts', 'duration', 'tokens in / out', 'reason', 'error'],
      r.items.map((i) =>
        h(
          'tr',
          { 'data-item': i.beads_id },
          h('td', {}, i.beads_id),
          h('td', {}, badge(i.status)),
          h('td', {}, dash(i.verdict)),
          h('td', { class: 'num' }, `${i.implement_attempts} impl / ${i.review_attempts} rev`),
          h('td', {}, i.providers.join(', ')),
          h('td', {}, i.hosts.join(', ')),
          h('td', { class: 'num' }, duration(i.duration_sec)),
          h('td', { class: 'num' }, `${num(i.tokens_input)} / ${num(i.tokens_output)}`),
          h('td', {}, dash(i.reason_code)),
          h('td', { class: 'wrap' }, dash(i.error)),
        ),
      ),
      { id: 'wave-items' },
    ),
    r.hosts.length
      ? [
          h('h2', {}, 'Hosts'),
          table(
            ['host', 'status', 'max parallel', 'providers', 'reason'],
            r.hosts.map((x) =>
              h(
                'tr',
                {},
                h('td', {}, x.host),
                h('td', {}, badge(x.status)),
                h('td', { class: 'num' }, x.max_parallel),
                h('td', {}, x.providers.join(', ')),
                h('td', {}, dash(x.reason_code)),
              ),
            ),
          ),
        ]
      : [],
  );
}

// ---------------------------------------------------------------- nights

async function renderNights() {
  const body = await api<NightsResponse>('/api/nights');
  show(
    h('h1', {}, 'Nights'),
    table(
      ['run', 'status', 'provider', 'fallback', 'ready', 'claimed', 'dispatched', 'skipped', 'failed', 'alerts'],
      body.nights.map((n) =>
        h(
          'tr',
          { 'data-night': n.run_id },
          h(
            'td',
            {},
            h('a', { href: `#/night/${encodeURIComponent(n.run_id)}` }, n.run_id),
            n.dry_run ? ' (dry run)' : '',
            n.simulation ? ` (rehearsal: ${n.simulation})` : '',
          ),
          h('td', {}, badge(n.status)),
          h('td', {}, dash(n.provider)),
          h('td', {}, n.fallback ? 'yes' : 'no'),
          ...COUNT_KEYS.map((k) => h('td', { class: 'num' }, n.counts[k])),
          h('td', { class: 'num' }, n.alerts),
        ),
      ),
      { id: 'nights-table' },
    ),
    body.unreadable.map((u) => h('div', { class: 'error-box' }, `night ${u.run_id}: ${u.error}`)),
  );
  if (body.nights.length === 0 && body.unreadable.length === 0)
    main.append(h('p', { class: 'muted' }, `No morning report under ${body.nightly_dir}.`));
}

async function renderNight(id: string) {
  const { report: r } = await api<NightDetail>(`/api/nights/${encodeURIComponent(id)}`);
  const pf = r.provider.primary_failure;
  show(
    h('h1', {}, `Night ${r.run_id} `, badge(r.status)),
    h(
      'div',
      { class: 'cards' },
      COUNT_KEYS.map((k) => card(k, r.counts[k])),
    ),
    facts([
      ['started', time(r.started_at)],
      ['completed', time(r.completed_at)],
      ['provider chosen', r.provider.selected],
      ['model', r.provider.model],
      ['fallback', r.provider.fallback ? 'yes' : 'no'],
      pf ? ['why not the primary', `${pf.provider}: ${pf.reason_code} — ${pf.error}`] : null,
      ['work', `${r.work.query}${r.work.overload ? ' (overload protection)' : ''}`],
      r.error ? ['error', r.error] : null,
      r.dry_run ? ['dry run', 'yes: nothing was dispatched'] : null,
    ]),
    h('h2', {}, 'Items'),
    table(
      ['item', 'title', 'action', 'why', 'provider', 'model', 'host', 'claimed by'],
      r.items.map((i) =>
        h(
          'tr',
          { 'data-item': i.beads_id },
          h('td', {}, i.beads_id),
          h('td', { class: 'wrap' }, dash(i.title)),
          h('td', {}, badge(i.action)),
          h('td', { class: 'wrap' }, dash(i.reason)),
          h('td', {}, dash(i.provider)),
          h('td', {}, dash(i.model)),
          h('td', {}, dash(i.host)),
          h('td', {}, dash(i.claimed_by)),
        ),
      ),
      { id: 'night-items' },
    ),
    ...(r.finished.length
      ? [
          h('h2', {}, 'Jobs of earlier runs that ended'),
          table(
            ['item', 'host', 'state', 'reason', 'exit', 'ended', 'next'],
            r.finished.map((f) =>
              h(
                'tr',
                { 'data-item': f.beads_id },
                h('td', {}, f.beads_id),
                h('td', {}, f.host),
                h('td', {}, badge(f.state)),
                h('td', {}, f.reason_code),
                h('td', { class: 'num' }, dash(f.exit_code)),
                h('td', {}, f.completed_at ? time(f.completed_at) : '–'),
                h('td', { class: 'wrap' }, f.next_action_text),
              ),
            ),
            { id: 'night-finished' },
          ),
        ]
      : []),
    h('h2', {}, 'Provider preflight'),
    table(
      ['provider', 'passed', 'model', 'reason'],
      r.provider.preflight.map((p) =>
        h(
          'tr',
          { 'data-provider': p.provider },
          h('td', {}, p.provider),
          h('td', {}, p.ok ? 'yes' : 'no'),
          h('td', {}, dash(p.model)),
          h('td', {}, dash(p.reason_code)),
        ),
      ),
    ),
    h('h2', {}, 'Alerts'),
    r.alerts.length
      ? table(
          ['kind', 'result', 'detail'],
          r.alerts.map((a) =>
            h('tr', {}, h('td', {}, a.kind), h('td', {}, badge(a.result)), h('td', { class: 'wrap' }, dash(a.detail))),
          ),
        )
      : h('p', { class: 'muted' }, 'No alert sent.'),
  );
}

// ---------------------------------------------------------------- providers

const COUNT_KEYS = ['ready', 'claimed', 'dispatched', 'skipped', 'failed'] as const;
const VERDICTS = ['success', 'no_op', 'error', 'rate_limited'] as const;

function dailyChart(daily: DailyCounts[]) {
  const w = 320;
  const hgt = 110;
  const max = Math.max(1, ...daily.map((d) => VERDICTS.reduce((n, k) => n + d[k], 0)));
  const bw = (w - 20) / daily.length;
  const svg = s('svg', {
    viewBox: `0 0 ${w} ${hgt + 18}`,
    width: w,
    height: hgt + 18,
    role: 'img',
    'aria-label': 'finished runs per day',
  });
  daily.forEach((d, i) => {
    let y = hgt;
    for (const k of VERDICTS) {
      if (!d[k]) continue;
      const bh = (d[k] / max) * (hgt - 10);
      y -= bh;
      const rect = s('rect', { x: 10 + i * bw + 4, y, width: bw - 8, height: bh, class: `bar-${k}` });
      rect.append(s('title', {}, `${d.day}: ${d[k]} ${k}`));
      svg.append(rect);
    }
    svg.append(s('text', { x: 10 + i * bw + 4, y: hgt + 14 }, d.day.slice(5)));
  });
  svg.append(s('line', { x1: 10, x2: w - 10, y1: hgt, y2: hgt, class: 'axis' }));
  return svg;
}

function windowTable(p: ProvidersResponse['providers'][number]) {
  const rows: Array<[string, (w: ProviderWindow) => Child]> = [
    ['jobs', (w) => w.jobs],
    ['success', (w) => w.success],
    ['no-op', (w) => w.no_op],
    ['error', (w) => w.error],
    ['rate-limited', (w) => w.rate_limited],
    ['median duration', (w) => duration(w.median_duration_sec)],
    ['tokens in / out', (w) => `${num(w.tokens_input)} / ${num(w.tokens_output)}`],
    ['cost', (w) => money(w.cost_usd)],
  ];
  return table(
    ['', '24 h', '7 days'],
    rows.map(([k, f]) =>
      h('tr', {}, h('td', {}, k), h('td', { class: 'num' }, f(p.last_24h)), h('td', { class: 'num' }, f(p.last_7d))),
    ),
  );
}

async function renderProviders() {
  const body = await api<ProvidersResponse>('/api/providers');
  const verdicts: string[] = [...VERDICTS];
  show(
    h('h1', {}, 'Providers'),
    legend(verdicts),
    h(
      'div',
      { class: 'grid2' },
      body.providers.map((p) =>
        h(
          'div',
          { class: 'chart', 'data-provider': p.provider },
          h('h3', {}, p.provider),
          dailyChart(p.daily),
          windowTable(p),
        ),
      ),
    ),
  );
  if (body.providers.length === 0) main.append(h('p', { class: 'muted' }, 'No provider has run a job yet.'));
}

// ---------------------------------------------------------------- hosts

async function renderHosts() {
  const body = await api<HostsResponse>('/api/hosts');
  const reach = (x: HostsResponse['hosts'][number]) =>
    x.reachable === null ? h('span', { class: 'muted' }, 'asking…') : x.reachable ? badge('up') : badge('down');
  show(
    h('h1', {}, 'Hosts'),
    body.policy_error ? h('div', { class: 'error-box' }, `policy: ${body.policy_error}`) : '',
    table(
      ['host', 'ssh', 'reachable', 'clock', 'max parallel', 'providers', 'live jobs', 'finished here', 'asked'],
      body.hosts.map((x) =>
        h(
          'tr',
          { 'data-host': x.host },
          h('td', {}, x.host),
          h('td', {}, dash(x.ssh)),
          h('td', { class: 'reach' }, reach(x), x.failure ? ` ${x.failure.reason_code}: ${x.failure.message}` : ''),
          // its jobs' times are its own clock's: an offset says how to read them
          h('td', { class: 'num clock' }, x.clock_offset_ms === null ? '–' : clockOffset(x.clock_offset_ms)),
          h('td', { class: 'num' }, dash(x.max_parallel)),
          h('td', {}, x.providers ? x.providers.join(', ') : 'all'),
          h(
            'td',
            { class: 'live-jobs' },
            x.live_jobs.length
              ? h(
                  'ul',
                  {},
                  x.live_jobs.map((j) =>
                    h('li', {}, `${j.beads} (${j.provider}${j.state ? `, ${j.state}` : ''}; ${j.source})`),
                  ),
                )
              : '–',
          ),
          h('td', { class: 'num' }, dash(x.finished_jobs)),
          h('td', {}, x.host === 'local' ? 'now' : ago(x.checked_at)),
        ),
      ),
      { id: 'hosts-table' },
    ),
    h('p', { class: 'muted' }, 'Remote hosts are asked over SSH while this view is open, at most every 15 s.'),
  );
}

// ---------------------------------------------------------------- routing and live updates

interface Route {
  view: string;
  id: string | null;
  provider: string | null;
}
let route: Route = { view: 'jobs', id: null, provider: null };

function parseRoute(): Route {
  const [pathPart, query] = location.hash.replace(/^#\/?/, '').split('?');
  const [view, ...rest] = pathPart.split('/');
  const id = rest.length ? decodeURIComponent(rest.join('/')) : null;
  const provider = new URLSearchParams(query ?? '').get('provider');
  return { view: view || 'jobs', id, provider };
}

const RENDER: Record<string, () => Promise<void>> = {
  jobs: async () => {
    if (jobs.size === 0) await loadJobs();
    renderJobs();
  },
  job: () => renderJob(route.id ?? '', route.provider),
  waves: renderWaves,
  wave: () => renderWave(route.id ?? ''),
  nights: renderNights,
  night: () => renderNight(route.id ?? ''),
  providers: renderProviders,
  hosts: renderHosts,
};

let rendering = Promise.resolve();
function render() {
  rendering = rendering.then(async () => {
    route = parseRoute();
    const section =
      ({ job: 'jobs', wave: 'waves', night: 'nights' } as Record<string, string>)[route.view] ?? route.view;
    for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a'))
      a.classList.toggle('active', a.dataset.view === section);
    document.body.dataset.view = route.view;
    try {
      await (RENDER[route.view] ?? RENDER.jobs)();
    } catch (err) {
      showError(err);
    }
    document.body.dataset.rendered = String(Date.now());
  });
  return rendering;
}

function patchJobRows(changed: JobRow[], removed: string[]): void {
  const tbody = document.querySelector('#jobs-table tbody');
  if (!tbody) return;
  for (const beads of removed) tbody.querySelector(`tr[data-beads="${CSS.escape(beads)}"]`)?.remove();
  let reorder = false;
  for (const j of changed) {
    const old = tbody.querySelector(`tr[data-beads="${CSS.escape(j.beads)}"]`);
    if (old && matches(j)) old.replaceWith(jobRow(j));
    else if (old || (matches(j) && j.live)) reorder = true; // a new live job goes on top
    if (old && old.classList.contains('live') !== j.live) reorder = true;
  }
  if (reorder) renderJobs();
}

function connect() {
  const live = document.getElementById('live')!;
  const events = new EventSource('/api/events');
  let opened = false;
  events.onopen = () => {
    live.className = 'live on';
    live.textContent = 'live';
    // what changed before this stream (re)opened was never pushed: read it once
    if (opened) void loadJobs().then(render);
    opened = true;
  };
  events.onerror = () => {
    live.className = 'live off';
    live.textContent = 'reconnecting…';
  };
  events.addEventListener('jobs', (e: MessageEvent<string>) => {
    const { changed, removed } = JSON.parse(e.data) as { changed: JobRow[]; removed: string[] };
    for (const j of changed) jobs.set(j.beads, j);
    for (const b of removed) jobs.delete(b);
    if (route.view === 'jobs') patchJobRows(changed, removed);
    if (route.view === 'job' && changed.some((j) => j.beads === route.id)) void render();
    if (route.view === 'hosts') void render();
  });
  events.addEventListener('reload', () => {
    void loadJobs().then(() => {
      if (route.view === 'jobs' || route.view === 'job' || route.view === 'hosts') return render();
    });
  });
  events.addEventListener('waves', () => {
    if (route.view === 'waves' || route.view === 'wave' || route.view === 'hosts') void render();
  });
  events.addEventListener('nights', () => {
    if (route.view === 'nights' || route.view === 'night') void render();
  });
  events.addEventListener('hosts', () => {
    if (route.view === 'hosts') void render();
  });
  events.addEventListener('providers', () => {
    if (route.view === 'providers') void render();
  });
}

window.addEventListener('hashchange', () => void render());
connect();
void render();
