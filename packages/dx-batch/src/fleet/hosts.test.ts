import { describe, expect, it } from 'vitest';
import type { HostRecord } from '../waves/state.js';
import { rankHosts } from './hosts.js';

const host = (name: string, cap: number, fields: Partial<HostRecord> = {}): HostRecord => ({
  host: name,
  status: 'up',
  reason_code: null,
  error: null,
  max_parallel: cap,
  providers: ['opencode'],
  down_since: null,
  checked_at: '2026-11-28T00:00:00.000Z',
  ...fields,
});

describe('where an attempt goes', () => {
  const hosts = [host('a', 1), host('b', 2), host('c', 3), host('d', 4, { status: 'down' })];

  it('least loaded first (running / cap), ties in the order given; full and down hosts never', () => {
    expect(rankHosts(hosts, 'opencode', new Map())).toEqual(['a', 'b', 'c']);
    expect(rankHosts(hosts, 'opencode', new Map([['a', 1]]))).toEqual(['b', 'c']);
    expect(rankHosts(hosts, 'opencode', new Map([['b', 1]]))).toEqual(['a', 'c', 'b']);
    expect(
      rankHosts(
        hosts,
        'opencode',
        new Map([
          ['a', 1],
          ['b', 2],
          ['c', 3],
        ]),
      ),
    ).toEqual([]);
  });

  it('only hosts where the provider passed preflight; `only` narrows to one host', () => {
    const mixed = [host('a', 2, { providers: ['gemini'] }), host('b', 2)];
    expect(rankHosts(mixed, 'gemini', new Map())).toEqual(['a']);
    expect(rankHosts(mixed, 'cc-glm', new Map())).toEqual([]);
    expect(rankHosts(hosts, 'opencode', new Map(), 'c')).toEqual(['c']);
  });
});
