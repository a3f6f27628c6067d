import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventHub, MAX_UNREAD_BYTES } from './events.js';

let server: http.Server | undefined;
let hub: EventHub | undefined;
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  hub?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = hub = undefined;
});

/** A hub behind a real HTTP server on 127.0.0.1, as the dashboard serves it. */
async function listen(): Promise<{ hub: EventHub; port: number }> {
  const events = new EventHub();
  hub = events;
  server = http.createServer((_req, res) => events.attach(res, {}));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { hub: events, port: (server.address() as net.AddressInfo).port };
}

/** A page's connection to the event stream: `reading` false is a frozen tab that reads nothing. */
async function page(port: number, reading: boolean) {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  const seen = { bytes: 0, closed: false };
  socket.on('data', (chunk) => (seen.bytes += chunk.length));
  socket.on('close', () => (seen.closed = true));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  socket.write('GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  if (!reading) socket.pause();
  return { socket, seen };
}

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

async function until(what: string, done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await tick();
  if (!done()) throw new Error(`timed out waiting: ${what}`);
}

describe('the event stream to open pages', () => {
  it('drops a page that reads nothing once a bounded amount waits for it, and keeps serving the others', async () => {
    const { hub: events, port } = await listen();
    const frozen = await page(port, false);
    const open = await page(port, true);
    await until('both pages attached', () => events.size === 2);

    // changes keep coming all night: far more than the kernel's socket buffers and our bound hold
    const change = { changed: [{ summary: 'x'.repeat(256 * 1024) }] };
    let sent = 0;
    while (events.size === 2 && sent < 400) {
      events.send('jobs', change);
      sent++;
      await tick();
    }
    expect(events.size, `the frozen page was kept after ${sent} frames of 256 KB`).toBe(1);
    // the kernel's buffers hold some megabytes; the bound is what the hub adds on top
    expect(sent * 256 * 1024).toBeGreaterThan(MAX_UNREAD_BYTES);

    // the page that reads got every frame, and is still served
    events.send('jobs', { changed: [] });
    await until('the reading page got every frame', () => open.seen.bytes > sent * 256 * 1024);
    expect(open.seen.closed).toBe(false);

    // the frozen one, when it wakes, finds its stream ended (its EventSource reconnects and reloads)
    frozen.socket.resume();
    await until('the frozen page sees its connection end', () => frozen.seen.closed);
  });
});
