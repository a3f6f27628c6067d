import { describe, expect, it } from 'vitest';
import { Redactor } from '../../secrets/redact.js';
import { LineSplitter } from './lines.js';

const SECRET = 'zk-unit-SECRET-0123456789abcdef';

describe('LineSplitter', () => {
  it('cuts an over-long line without ever splitting a secret, wherever the secret sits', () => {
    const redactor = new Redactor([SECRET]);
    const maxLine = 20_000;
    // put the secret across every position around the cut point in turn
    for (let offset = maxLine - 8 * 1024 - 40; offset < maxLine - 8 * 1024 + 40; offset += 3) {
      const lines: string[] = [];
      const splitter = new LineSplitter((l) => lines.push(redactor.redact(l)), {
        redact: (t) => redactor.redact(t),
        maxLine,
      });
      const text = `${'a'.repeat(offset)}${SECRET}${'b'.repeat(maxLine)}`;
      for (let i = 0; i < text.length; i += 997) splitter.push(Buffer.from(text.slice(i, i + 997)));
      splitter.push('\n');
      splitter.end();
      const joined = lines.join('');
      expect(joined).not.toContain(SECRET.slice(0, 10));
      expect(joined).not.toContain(SECRET.slice(-10));
      expect(joined.split('[REDACTED]')).toHaveLength(2);
      for (const l of lines) expect(l.length).toBeLessThanOrEqual(maxLine + 997);
    }
  });

  it('keeps multi-byte characters split across chunks intact', () => {
    const lines: string[] = [];
    const splitter = new LineSplitter((l) => lines.push(l));
    const bytes = Buffer.from('héllo wörld\n');
    for (const b of bytes) splitter.push(Buffer.from([b]));
    expect(lines).toEqual(['héllo wörld']);
  });
});
