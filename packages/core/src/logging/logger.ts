import type { DestinationStream, Logger } from 'pino';
import type { Redactor } from '../secrets/redact.js';
import { requireVendored } from '../vendor.js';

export type { Logger } from 'pino';

/**
 * Structured diagnostics (never the agent's own output, which goes to the job log). Every message
 * and every string field passes through the redactor, so a key that reaches a log call is scrubbed.
 */
export function createLogger(options: {
  redactor: Redactor;
  level?: string;
  destination?: DestinationStream | number;
  base?: Record<string, unknown>;
}): Logger {
  const { redactor } = options;
  // loaded on first use: only the watcher and debug logging need pino
  const { pino } = requireVendored<typeof import('pino')>('pino');
  const destination =
    typeof options.destination === 'number'
      ? pino.destination({ fd: options.destination, sync: true })
      : options.destination;
  return pino(
    {
      level: options.level ?? 'info',
      base: options.base ?? { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        log: (obj) => redactor.redactDeep(obj),
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? redactor.redact(a) : a)) as Parameters<typeof method>,
          );
        },
      },
    },
    destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
