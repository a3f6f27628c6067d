import { describe, expect, it } from 'vitest';
import { markdownCell, markdownCode, markdownInline } from './markdown.js';

describe('outside text in a markdown report', () => {
  it('stays on its line, in its cell, inside its code span', () => {
    expect(markdownInline('one\n## Two\r\nthree')).toBe('one\\n## Two\\nthree');
    expect(markdownCell('a | b\nc')).toBe('a \\| b\\nc');
    expect(markdownCode('plain.txt')).toBe('`plain.txt`');
    expect(markdownCode('a`b``c')).toBe('```a`b``c```');
    expect(markdownCode('`edge`')).toBe('`` `edge` ``');
  });
});
