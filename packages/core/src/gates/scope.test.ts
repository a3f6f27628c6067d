import { describe, expect, it } from 'vitest';
import { pathMatcher, scopedPathMatcher } from './scope.js';

describe('allowlist path matching', () => {
  it('treats a plain entry as a path prefix on segment boundaries', () => {
    const m = pathMatcher('src/');
    expect([m('src/a.ts'), m('src/deep/b.ts'), m('srcx/a.ts'), m('lib/src/a.ts')]).toEqual([true, true, false, false]);
    expect(pathMatcher('README.md')('README.md')).toBe(true);
  });

  it('supports *, ** and ?', () => {
    expect(pathMatcher('docs/*.md')('docs/a.md')).toBe(true);
    expect(pathMatcher('docs/*.md')('docs/x/a.md')).toBe(false);
    expect(pathMatcher('test/**/*.test.ts')('test/a.test.ts')).toBe(true);
    expect(pathMatcher('test/**/*.test.ts')('test/u/v/a.test.ts')).toBe(true);
    expect(pathMatcher('test/**/*.test.ts')('test/u/a.ts')).toBe(false);
    expect(pathMatcher('file?.txt')('file1.txt')).toBe(true);
  });

  it('reads entries from the job’s directory for a job begun in a subdirectory', () => {
    const inA = (entry: string) => scopedPathMatcher(entry, 'packages/a/');
    expect([inA('src/')('packages/a/src/x.ts'), inA('src/')('src/x.ts'), inA('src/')('packages/b/src/x.ts')]).toEqual([
      true,
      false,
      false,
    ]);
    expect(inA('../../package-lock.json')('package-lock.json')).toBe(true);
    expect(inA('./**/*.test.ts')('packages/a/test/x.test.ts')).toBe(true);
    expect([inA('.')('packages/a/x'), inA('.')('packages/b/x')]).toEqual([true, false]);
    expect(inA('../../../outside')('outside')).toBe(false);
    expect([scopedPathMatcher('.', '')('any/file'), scopedPathMatcher('src', '')('src/a.ts')]).toEqual([true, true]);
  });
});
