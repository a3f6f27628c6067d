import { StringDecoder } from 'node:string_decoder';
import { REDACTION_MARK } from '../../secrets/redact.js';

const MAX_LINE = 1024 * 1024;
/** Longer than any secret value or token shape the redactor knows, so a cut never splits one. */
const CUT_OVERLAP = 8 * 1024;

export interface LineSplitterOptions {
  /** Applied to an over-long line before it is cut, so no secret is ever split in two. */
  redact?: (text: string) => string;
  maxLine?: number;
}

/**
 * Splits a byte stream into lines. An over-long line is cut rather than buffered without bound:
 * it is redacted first, and the last CUT_OVERLAP characters stay pending, so a secret that
 * straddles the cut is still whole when the next piece is redacted.
 */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new StringDecoder('utf8');
  private readonly maxLine: number;
  private readonly redact: (text: string) => string;

  constructor(
    private readonly onLine: (line: string) => void,
    options: LineSplitterOptions = {},
  ) {
    this.maxLine = Math.max(options.maxLine ?? MAX_LINE, CUT_OVERLAP * 2);
    this.redact = options.redact ?? ((t) => t);
  }

  push(chunk: Buffer | string): void {
    this.pending += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      const line = this.pending.slice(0, nl).replace(/\r$/, '');
      this.pending = this.pending.slice(nl + 1);
      this.onLine(line);
      nl = this.pending.indexOf('\n');
    }
    if (this.pending.length > this.maxLine) {
      const redacted = this.redact(this.pending);
      let cut = redacted.length - CUT_OVERLAP;
      // never split a redaction mark either: a reader must see it whole
      const mark = redacted.lastIndexOf(REDACTION_MARK, cut);
      if (mark >= 0 && mark + REDACTION_MARK.length > cut) cut = mark;
      this.pending = redacted.slice(cut);
      this.onLine(redacted.slice(0, cut));
    }
  }

  end(): void {
    this.pending += this.decoder.end();
    if (this.pending.length > 0) {
      const line = this.pending;
      this.pending = '';
      this.onLine(line);
    }
  }
}

/** Keeps the last `size` items. */
export class Tail<T> {
  private readonly items: T[] = [];
  constructor(private readonly size: number) {}
  push(item: T): void {
    this.items.push(item);
    if (this.items.length > this.size) this.items.shift();
  }
  toArray(): T[] {
    return [...this.items];
  }
}
