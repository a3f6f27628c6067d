import type http from 'node:http';

/** At most this many open pages (each holds one connection); more are told to come back later. */
const MAX_CLIENTS = 64;
const KEEPALIVE_MS = 15_000;
/**
 * What a page may leave unread (beyond the kernel's socket buffers) before it is dropped: a tab
 * frozen in the background, or a tunnel whose far end sleeps, reads nothing while live jobs change
 * every second (~0.5 KB per live job per second), and every frame queued for it stayed in memory
 * until the connection died. A dropped page reconnects and reads everything again.
 */
export const MAX_UNREAD_BYTES = 1024 * 1024;

/** Server-Sent Events to every open page: one named event per kind of change, JSON data. */
export class EventHub {
  private readonly clients = new Set<http.ServerResponse>();
  private readonly keepalive: NodeJS.Timeout;

  constructor() {
    this.keepalive = setInterval(() => this.broadcast(': keepalive\n\n'), KEEPALIVE_MS);
    this.keepalive.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /** Take over a response as an event stream; false when the hub is full. */
  attach(res: http.ServerResponse, headers: Record<string, string>): boolean {
    if (this.clients.size >= MAX_CLIENTS) return false;
    res.writeHead(200, {
      ...headers,
      'content-type': 'text/event-stream; charset=utf-8',
      connection: 'keep-alive',
    });
    res.write('retry: 1000\n\n');
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
    return true;
  }

  send(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    this.broadcast(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private broadcast(frame: string): void {
    for (const res of this.clients) {
      if (res.writableLength > MAX_UNREAD_BYTES) {
        this.clients.delete(res);
        res.destroy();
      } else res.write(frame);
    }
  }

  close(): void {
    clearInterval(this.keepalive);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }
}
