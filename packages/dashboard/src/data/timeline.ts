import { tailLines, type JobReport, type JobSnapshot, type Redactor } from '@dx/core';
import type { TimelineEvent } from '../schemas.js';

/** The watcher's log is pino JSON, one event per line; only its last lines are read. */
const WATCHER_LOG_LINES = 300;
const PINO_BOOKKEEPING = new Set(['level', 'time', 'msg', 'beads', 'provider', 'run_instance', 'pid', 'hostname']);

function kindOfWatcherMessage(msg: string): TimelineEvent['kind'] {
  if (msg === 'agent launched') return 'launch';
  if (/rate.?limit/i.test(msg)) return 'rate_limit';
  if (/terminat|ending the agent/i.test(msg)) return 'termination';
  return 'note';
}

function watcherEvents(file: string): TimelineEvent[] {
  let lines: string[];
  try {
    lines = tailLines(file, WATCHER_LOG_LINES);
  } catch {
    return [];
  }
  const events: TimelineEvent[] = [];
  for (const line of lines) {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue; // a plain diagnostic line (the watcher's fallback logger) has no time to place it at
    }
    if (typeof record.msg !== 'string' || typeof record.time !== 'string') continue;
    const fields = Object.entries(record)
      .filter(([k, v]) => !PINO_BOOKKEEPING.has(k) && v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
    events.push({
      at: record.time,
      kind: kindOfWatcherMessage(record.msg),
      text: fields.length ? `${record.msg} (${fields.join(', ')})` : record.msg,
    });
  }
  return events;
}

/**
 * What happened to a job, in order: earlier instances (restarts and provider switches), this
 * instance's start, what its watcher logged (launch, terminations, exit), its latest progress and
 * rate-limit wait from the heartbeat, and its end. Every text is redacted.
 */
export function jobTimeline(job: JobSnapshot, history: JobReport['history'], redactor: Redactor): TimelineEvent[] {
  const events: TimelineEvent[] = [];
  const current = job.meta?.run_instance;
  for (const h of history) {
    if (h.run_instance === current) continue;
    if (h.started_at) events.push({ at: h.started_at, kind: 'start', text: `started on ${h.provider}` });
    events.push({
      at: h.completed_at,
      kind: 'restart',
      text: `earlier run on ${h.provider} ended ${h.state} (${h.reason_code}, exit ${h.exit_code}); the job ran again`,
    });
  }
  const meta = job.meta;
  if (meta) {
    const retry = meta.retries > 0 ? ` (retry ${meta.retries})` : '';
    const switched = meta.provider_switch_from?.length ? ` after ${meta.provider_switch_from.join(', ')}` : '';
    events.push({
      at: meta.started_at,
      kind: 'start',
      text: `started on ${meta.provider}${switched}${retry}, model ${meta.selected_model ?? meta.model ?? 'default'}`,
    });
  }
  events.push(...watcherEvents(job.paths.watcherLog));
  const hb = job.heartbeat;
  if (hb?.last_event_at && !job.outcome)
    events.push({
      at: hb.last_event_at,
      kind: 'progress',
      text: `last progress: ${hb.last_event_kind ?? 'event'}${hb.last_event_detail ? ` — ${hb.last_event_detail}` : ''} (${hb.events} events, ${hb.tool_calls} tool calls)`,
    });
  if (hb?.rate_limited_until)
    events.push({
      at: hb.last_event_at ?? hb.updated_at,
      kind: 'rate_limit',
      text: `rate limited${hb.rate_limit_detail ? `: ${hb.rate_limit_detail}` : ''}; waiting until ${hb.rate_limited_until}`,
    });
  const o = job.outcome;
  if (o)
    events.push({
      at: o.completed_at,
      kind: 'end',
      text: `ended ${o.state} (${o.reason_code}, exit ${o.exit_code}) after ${o.duration_sec}s${o.provider_retries ? `, ${o.provider_retries} provider retries` : ''}`,
    });
  events.sort((a, b) => a.at.localeCompare(b.at));
  return redactor.redactDeep(events);
}
