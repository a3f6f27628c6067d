import { describe, expect, it } from 'vitest';
import { KvParseError, parseKv, parseKvList, serializeKv } from './kv.js';

describe('key=value state files', () => {
  it('round-trips values, escaping newlines so a value cannot forge a key', () => {
    const text = serializeKv({
      beads: 'bd-1',
      summary: 'line one\nstate=success\\n',
      n: 3,
      ok: true,
      list: ['a b', 'c,d'],
      skip: undefined,
    });
    expect(text).toBe('beads=bd-1\nsummary=line one\\nstate=success\\\\n\nn=3\nok=true\nlist=["a b","c,d"]\n');
    const back = parseKv(text);
    expect(back).toEqual({
      beads: 'bd-1',
      summary: 'line one\nstate=success\\n',
      n: '3',
      ok: 'true',
      list: '["a b","c,d"]',
    });
    expect(back.state).toBeUndefined();
    expect(parseKvList(back.list)).toEqual(['a b', 'c,d']);
  });

  it('round-trips list items holding a backslash, a newline or a quote (file names an agent made)', () => {
    const names = ['a\\b.txt', 'x\\n', 'line\nbreak', 'say "hi"', 'tab\tand\\\\two', 'C:\\tmp\\new'];
    const back = parseKv(serializeKv({ changed_files: names }));
    expect(Object.keys(back)).toEqual(['changed_files']);
    expect(parseKvList(back.changed_files)).toEqual(names);
    // a list written before lists were escaped (no backslash in its JSON) reads as it always did
    expect(parseKvList(parseKv('commits=["abc","def ghi"]\n').commits)).toEqual(['abc', 'def ghi']);
  });

  it('keeps "=" inside values and reads comma-separated lists', () => {
    expect(parseKv('fallback_reason=alias_for=glm-5\n').fallback_reason).toBe('alias_for=glm-5');
    expect(parseKvList('opencode,gemini')).toEqual(['opencode', 'gemini']);
    expect(parseKvList('none')).toEqual([]);
  });

  it('names file and line of a corrupt record', () => {
    expect(() => parseKv('beads=x\nthis is junk\n', '/s/x.meta')).toThrowError(
      new KvParseError('/s/x.meta', 2, 'expected key=value, got "this is junk"'),
    );
    expect(() => parseKv('Bad-Key=1\n', 'f')).toThrow(/f:1: invalid key/);
  });
});
