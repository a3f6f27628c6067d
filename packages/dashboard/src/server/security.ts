import crypto from 'node:crypto';
import type http from 'node:http';
import net from 'node:net';
import { DxError, ExitCode } from '@dx/core';

/**
 * Every response: no inline script or style, nothing from another origin, never framed, never
 * cached, never sniffed. The page's own script and stylesheet are the only code that runs.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

export const TOKEN_COOKIE = 'dx_dashboard_token';

export function isLoopback(address: string): boolean {
  if (address === 'localhost') return true;
  if (net.isIPv4(address)) return address.startsWith('127.');
  return address === '::1' || address === '0:0:0:0:0:0:0:1';
}

/**
 * Where to listen and whether a token guards it. Loopback needs no token; anything else must be
 * asked for with --bind and --token together, or the dashboard refuses to start.
 */
export function resolveBind(
  bind: string | undefined,
  withToken: boolean | undefined,
): { bind: string; tokenRequired: boolean } {
  const address = bind ?? '127.0.0.1';
  if (!net.isIP(address) && address !== 'localhost')
    throw new DxError(`--bind ${address}: expected an IP address (for example 127.0.0.1 or 0.0.0.0)`, {
      exitCode: ExitCode.usage,
      reasonCode: 'invalid_flag',
    });
  if (!isLoopback(address) && !withToken)
    throw new DxError(
      `refusing to serve on ${address} without a token: anyone who can reach it would read every job, log tail and report; add --token (one is generated and printed once) or bind to 127.0.0.1`,
      { exitCode: ExitCode.usage, reasonCode: 'token_required', nextAction: 'add_token_or_bind_loopback' },
    );
  return { bind: address, tokenRequired: withToken === true };
}

export function newToken(): string {
  return crypto.randomBytes(24).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const ha = crypto.createHash('sha256').update(a).digest();
  const hb = crypto.createHash('sha256').update(b).digest();
  return crypto.timingSafeEqual(ha, hb);
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** The token a request carries: `Authorization: Bearer`, the cookie set on first visit, or `?token=`. */
export function requestToken(req: http.IncomingMessage, url: URL): { token: string | undefined; fromQuery: boolean } {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return { token: auth.slice('Bearer '.length), fromQuery: false };
  const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
  if (cookie) return { token: cookie, fromQuery: false };
  const query = url.searchParams.get('token');
  return { token: query ?? undefined, fromQuery: query !== null };
}

export function tokenMatches(given: string | undefined, expected: string): boolean {
  return given !== undefined && sameSecret(given, expected);
}

/**
 * A loopback dashboard answers only to its own names: a page on another site that points a DNS
 * name at 127.0.0.1 (DNS rebinding) sends that name as Host and is refused.
 */
export function hostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(hostHeader.toLowerCase());
}
