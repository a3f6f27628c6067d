const MAX_LINE = 1024 * 1024;

/** Splits a byte stream into lines; an over-long line is cut rather than buffered without bound. */
export class LineSplitter {
  private pending = '';

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    this.pending += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    let nl = this.pending.indexOf('\n');
    while (nl >= 0) {
      const line = this.pending.slice(0, nl).replace(/\r$/, '');
      this.pending = this.pending.slice(nl + 1);
      this.onLine(line);
      nl = this.pending.indexOf('\n');
    }
    if (this.pending.length > MAX_LINE) {
      const line = this.pending;
      this.pending = '';
      this.onLine(line);
    }
  }

  end(): void {
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
