import { describe, expect, it } from 'vitest';
import { hostAllowed, isLoopback, resolveBind, tokenMatches } from './security.js';

describe('where the dashboard may listen', () => {
  it('loopback needs no token; anything else needs --token, or it refuses with the usage exit code', () => {
    expect(resolveBind(undefined, undefined)).toEqual({ bind: '127.0.0.1', tokenRequired: false });
    expect(resolveBind('::1', false)).toEqual({ bind: '::1', tokenRequired: false });
    expect(resolveBind('0.0.0.0', true)).toEqual({ bind: '0.0.0.0', tokenRequired: true });
    expect(() => resolveBind('0.0.0.0', false)).toThrow(/without a token/);
    expect(() => resolveBind('192.168.1.5', undefined)).toThrow(
      expect.objectContaining({ exitCode: 1, reasonCode: 'token_required' }),
    );
    expect(() => resolveBind('example.com', true)).toThrow(expect.objectContaining({ reasonCode: 'invalid_flag' }));
  });

  it('knows loopback addresses', () => {
    for (const a of ['127.0.0.1', '127.3.4.5', '::1', 'localhost']) expect(isLoopback(a)).toBe(true);
    for (const a of ['0.0.0.0', '10.0.0.1', '::', '128.0.0.1']) expect(isLoopback(a)).toBe(false);
  });
});

describe('who may ask', () => {
  it('a loopback dashboard answers only to its own names and port (DNS rebinding is refused)', () => {
    expect(hostAllowed('127.0.0.1:8080', 8080)).toBe(true);
    expect(hostAllowed('LOCALHOST:8080', 8080)).toBe(true);
    expect(hostAllowed('[::1]:8080', 8080)).toBe(true);
    expect(hostAllowed('evil.example:8080', 8080)).toBe(false);
    expect(hostAllowed('127.0.0.1:8081', 8080)).toBe(false);
    expect(hostAllowed(undefined, 8080)).toBe(false);
  });

  it('a token matches only itself', () => {
    expect(tokenMatches('abc-123', 'abc-123')).toBe(true);
    expect(tokenMatches('abc-12', 'abc-123')).toBe(false);
    expect(tokenMatches(undefined, 'abc-123')).toBe(false);
    expect(tokenMatches('', 'abc-123')).toBe(false);
  });
});
