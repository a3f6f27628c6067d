import os from 'node:os';
import path from 'node:path';
import { readJsonFileIfExists, writeFileAtomic } from '@dx/core';

export type AlertResult = 'sent' | 'rate_limited' | 'failed' | 'disabled' | 'dry_run';
export interface AlertRecord {
  kind: string;
  result: AlertResult;
  detail: string | null;
}

const WEBHOOK_TIMEOUT_MS = 10_000;

/**
 * Slack incoming-webhook alerts, one per kind per `rateLimitMinutes` — remembered in the state root
 * (`alerts.json`) so hourly cron runs do not repeat each other. Only a 2xx counts as sent. A failing
 * webhook is recorded and logged, never thrown: alerts must not fail the night.
 */
export class SlackAlerter {
  readonly records: AlertRecord[] = [];
  private readonly file: string;

  constructor(
    private readonly webhook: string | undefined,
    root: string,
    private readonly rateLimitMinutes: number,
    private readonly log: (line: string) => void,
    /** A dry run prints what it would send and sends nothing. */
    private readonly dryRun = false,
    /**
     * A rehearsal (run --simulate) sends for real, to check the alerting end to end, but says so in
     * every title and keeps its own rate-limit memory so it never silences a real alert.
     */
    private readonly rehearsal = false,
  ) {
    this.file = path.join(root, 'alerts.json');
  }

  private lastSent(): Record<string, string> {
    return readJsonFileIfExists<Record<string, string>>(this.file) ?? {};
  }

  async send(kind: string, title: string, lines: string[]): Promise<AlertResult> {
    const record = (result: AlertResult, detail: string | null = null) => {
      this.records.push({ kind, result, detail });
      return result;
    };
    if (!this.webhook) return record('disabled', 'SLACK_WEBHOOK_URL not set');
    const key = this.rehearsal ? `rehearsal:${kind}` : kind;
    const sent = this.lastSent();
    const last = sent[key];
    if (last && Date.now() - Date.parse(last) < this.rateLimitMinutes * 60_000)
      return record('rate_limited', `last sent ${last}`);
    const text = [
      `*${this.rehearsal ? `[rehearsal] ${title}` : title}*`,
      ...lines,
      `Host: ${os.hostname()} · Time: ${new Date().toISOString()}`,
    ].join('\n');
    if (this.dryRun) {
      this.log(`dry run: would send alert ${kind}: ${text.replace(/\n/g, ' | ')}`);
      return record('dry_run', text);
    }
    const body = { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
    try {
      const response = await fetch(this.webhook, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      if (!response.ok) {
        this.log(`alert ${kind} not delivered: webhook answered HTTP ${response.status}`);
        return record('failed', `HTTP ${response.status}`);
      }
    } catch (err) {
      // the message of a fetch error can contain the URL, which is a secret: keep only its cause
      const inner = (err as { cause?: { code?: string; message?: string } }).cause;
      const cause = inner?.code ?? inner?.message ?? (err as Error).name;
      this.log(`alert ${kind} not delivered: ${cause}`);
      return record('failed', cause);
    }
    writeFileAtomic(this.file, `${JSON.stringify({ ...this.lastSent(), [key]: new Date().toISOString() }, null, 2)}\n`);
    return record('sent');
  }
}
