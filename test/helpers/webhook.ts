import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hook {
  url: string;
  bodies: Array<{ text: string; blocks: unknown[] }>;
  status: number;
  close(): Promise<void>;
}

/** A Slack incoming webhook stand-in: records every POST body, answers `status`. */
export async function startWebhook(): Promise<Hook> {
  const bodies: Hook['bodies'] = [];
  const hook = { bodies, status: 200 } as Hook;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      res.writeHead(hook.status).end(hook.status === 200 ? 'ok' : 'no_service');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  hook.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T000/B000/secret-hook-token`;
  hook.close = () => new Promise<void>((r) => server.close(() => r()));
  return hook;
}
