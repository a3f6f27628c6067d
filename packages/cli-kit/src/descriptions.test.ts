import { describe, expect, it } from 'vitest';
import { flowText } from './descriptions.js';

describe('flowText', () => {
  it('joins the lines of a paragraph; keeps paragraphs, indented lines and the line after them', () => {
    const text =
      'one line\nwraps here.\n\nA new paragraph:\n  a command to copy\nAfter it.\n\nEXIT CODES\n    0  success';
    expect(flowText(text)).toBe(
      'one line wraps here.\n\nA new paragraph:\n  a command to copy\nAfter it.\n\nEXIT CODES\n    0  success',
    );
  });
});
