import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DxError,
  ExitCode,
  isValidBeadsId,
  loadPolicy,
  openPrivateRoot,
  Redactor,
  stateRootPath,
  type Policy,
} from '@dx/core';
import { batchRootPath } from '@dx/dx-batch';
import { nightlyRootPath } from '@dx/nightly-dispatch';
import { hostsView, RemoteHosts } from '../data/hosts.js';
import { JobIndex } from '../data/jobs.js';
import { NightReader } from '../data/nights.js';
import { ProviderStats } from '../data/providers.js';
import { WaveReader } from '../data/waves.js';
import { EventHub } from '../live/events.js';
import { StateWatcher, type StateChanges } from '../live/watch.js';
import type { JobRow } from '../schemas.js';
import {
  hostAllowed,
  requestToken,
  SECURITY_HEADERS,
  TOKEN_COOKIE,
  tokenMatches,
  type resolveBind,
} from './security.js';

export interface DashboardOptions {
  env?: NodeJS.ProcessEnv;
  /** From resolveBind: where to listen and whether a token guards it. */
  bind: ReturnType<typeof resolveBind>;
  /** 0 picks a free port. */
  port: number;
  /** Required when bind.tokenRequired. */
  token?: string;
  policyFile?: string;
}

export interface RunningDashboard {
  url: string;
  port: number;
  stateDir: string;
  batchDir: string;
  nightlyDir: string;
  close(): Promise<void>;
}

/** Live rows are read again this often: their health moves with the clock, not only with files. */
const TICK_MS = 1_000;

const STATIC_DIR = fileURLToPath(new URL('../../assets/', import.meta.url));
// the page's script is compiled from src/client/app.ts (typed against schemas.ts); the same path
// resolves from src/server (development) and dist/server
const CLIENT_DIR = fileURLToPath(new URL('../../dist/client/', import.meta.url));
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: path.join(STATIC_DIR, 'index.html'), type: 'text/html; charset=utf-8' },
  '/assets/app.js': { file: path.join(CLIENT_DIR, 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/app.css': { file: path.join(STATIC_DIR, 'app.css'), type: 'text/css; charset=utf-8' },
  '/favicon.svg': { file: path.join(STATIC_DIR, 'favicon.svg'), type: 'image/svg+xml' },
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * `dx-runner dashboard`: a read-only HTTP server over the state dx-runner, dx-batch and
 * nightly-dispatch write. Pages get data from `/api/*` and changes pushed on `/api/events`.
 */
export async function startDashboard(options: DashboardOptions): Promise<RunningDashboard> {
  const env = options.env ?? process.env;
  if (options.bind.tokenRequired && !options.token) throw new Error('a token-guarded dashboard needs its token');
  const token = options.token;
  const redactor = Redactor.fromEnv([env], { values: token ? [token] : [] });
  const stateDir = stateRootPath(env);
  const batchDir = batchRootPath(env);
  const nightlyDir = nightlyRootPath(env);
  // the roots may not exist yet (nothing ran); one that exists must pass the tools' own safety checks
  openPrivateRoot(stateDir, false);
  openPrivateRoot(batchDir, false, 'dx-batch root');
  openPrivateRoot(nightlyDir, false, 'nightly-dispatch root');

  const jobs = new JobIndex(stateDir, redactor);
  jobs.loadAll();
  const waves = new WaveReader(batchDir, redactor, (beads, runInstance) => jobs.costOf(beads, runInstance));
  const nights = new NightReader(nightlyDir, redactor);
  const providers = new ProviderStats(stateDir);
  let policy: Policy | undefined;
  let policyError: string | null = null;
  try {
    policy = loadPolicy({ file: options.policyFile, env });
  } catch (err) {
    policyError = redactor.redact((err as Error).message);
  }

  const hub = new EventHub();
  const remote = new RemoteHosts(policy, env, redactor, () => hub.send('hosts', {}));
  const publishJobs = (update: { changed: JobRow[]; removed: string[] }) => {
    if (update.changed.length || update.removed.length) hub.send('jobs', update);
    // provider figures count finished runs only: a heartbeat does not move them
    if (update.removed.length || update.changed.some((r) => !r.live)) hub.send('providers', {});
  };
  const onChanges = (c: StateChanges) => {
    if (c.allJobs) {
      jobs.loadAll();
      hub.send('reload', { topics: ['jobs'] });
      hub.send('providers', {});
    } else if (c.jobs.size) publishJobs(jobs.refresh(c.jobs));
    if (c.waves) hub.send('waves', {});
    if (c.nights) hub.send('nights', {});
  };
  const watcher = new StateWatcher({ state: stateDir, batch: batchDir, nightly: nightlyDir }, onChanges);
  watcher.ensure();
  const tick = setInterval(() => {
    watcher.ensure();
    publishJobs(jobs.refreshLive());
    remote.tick();
  }, TICK_MS);
  tick.unref();

  const api = (pathname: string, url: URL): unknown => {
    const parts = pathname.split('/').map((part) => {
      try {
        return decodeURIComponent(part);
      } catch {
        throw new HttpError(400, `malformed URL: ${pathname}`);
      }
    });
    if (parts.length > 4) throw new HttpError(404, `no such endpoint ${pathname}`);
    const [, , kind, id] = parts;
    // ids name files under the roots: anything but a well-formed id is refused before a path is built
    if (id !== undefined && (kind === 'jobs' || kind === 'waves') && !isValidBeadsId(id))
      throw new HttpError(400, `not a valid ${kind === 'jobs' ? 'beads' : 'wave'} id: ${JSON.stringify(id)}`);
    const provider = url.searchParams.get('provider') ?? undefined;
    if (provider !== undefined && !/^[a-z][a-z0-9-]*$/.test(provider))
      throw new HttpError(400, `not a valid provider: ${JSON.stringify(provider)}`);
    const found = <T>(v: T | undefined): T => {
      if (v === undefined) throw new HttpError(404, `no ${kind.replace(/s$/, '')} ${id}`);
      return v;
    };
    switch (id === undefined ? kind : `${kind}/`) {
      case 'jobs':
        return { generated_at: new Date().toISOString(), state_dir: stateDir, jobs: jobs.list() };
      case 'jobs/':
        return found(jobs.detail(id, provider));
      case 'waves':
        return waves.list();
      case 'waves/':
        return found(waves.detail(id));
      case 'nights':
        return nights.list();
      case 'nights/':
        return found(nights.detail(id));
      case 'providers':
        return providers.compute();
      case 'hosts':
        remote.lookedAt();
        return hostsView(policy, policyError, jobs.list(), waves.liveAttempts(), remote);
      default:
        throw new HttpError(404, `no such endpoint ${pathname}`);
    }
  };

  let port = options.port;
  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra = {}) => {
    res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': type, ...extra });
    res.end(body);
  };
  const fail = (res: http.ServerResponse, status: number, message: string) =>
    send(res, status, 'application/json; charset=utf-8', `${JSON.stringify({ error: message })}\n`);

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return fail(res, 405, 'the dashboard is read-only: only GET is answered');
    if (!token && !hostAllowed(req.headers.host, port))
      return fail(res, 421, 'this dashboard answers only to 127.0.0.1, localhost or [::1]');
    let setCookie: Record<string, string> = {};
    if (token) {
      const given = requestToken(req, url);
      if (!tokenMatches(given.token, token))
        return fail(res, 401, 'token required: open the URL `dx-runner dashboard` printed when it started');
      if (given.fromQuery) {
        // remember the token in a cookie and drop it from the address bar (history, screenshots)
        setCookie = { 'set-cookie': `${TOKEN_COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/` };
        if (url.pathname === '/') return send(res, 303, 'text/plain', '', { ...setCookie, location: '/' });
      }
    }
    const asset = ASSETS[url.pathname];
    if (asset) {
      const body = fs.readFileSync(asset.file);
      return send(res, 200, asset.type, req.method === 'HEAD' ? '' : body, setCookie);
    }
    if (url.pathname === '/api/events') {
      if (!hub.attach(res, { ...SECURITY_HEADERS, ...setCookie })) fail(res, 503, 'too many open pages');
      return;
    }
    if (url.pathname.startsWith('/api/')) {
      try {
        const body = `${JSON.stringify(api(url.pathname, url))}\n`;
        return send(res, 200, 'application/json; charset=utf-8', req.method === 'HEAD' ? '' : body, setCookie);
      } catch (err) {
        if (err instanceof HttpError) return fail(res, err.status, err.message);
        return fail(res, 500, redactor.redact((err as Error).message));
      }
    }
    return fail(res, 404, `not found: ${url.pathname}`);
  };

  const server = http.createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      if (!res.headersSent) fail(res, 500, redactor.redact((err as Error).message));
      else res.destroy();
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.bind.bind, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    clearInterval(tick);
    watcher.close();
    hub.close();
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? `port ${options.port} is in use on ${options.bind.bind}: pick another with --port, or --port 0 for any free one`
        : code === 'EADDRNOTAVAIL'
          ? `${options.bind.bind} is not an address of this machine`
          : code === 'EACCES'
            ? `no permission to listen on port ${options.port} (ports below 1024 need privileges)`
            : `cannot listen on ${options.bind.bind}:${options.port}: ${(err as Error).message}`;
    throw new DxError(why, { exitCode: ExitCode.general, reasonCode: 'listen_failed', details: { code } });
  }
  port = (server.address() as { port: number }).port;
  const shownHost = options.bind.bind.includes(':') ? `[${options.bind.bind}]` : options.bind.bind;
  return {
    url: `http://${shownHost}:${port}/`,
    port,
    stateDir,
    batchDir,
    nightlyDir,
    close: async () => {
      clearInterval(tick);
      watcher.close();
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
