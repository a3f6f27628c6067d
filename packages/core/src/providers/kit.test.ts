import { describe, expect, it } from 'vitest';
import { providerKit } from './kit.js';

describe('providerKit.callInput', () => {
  it('writes the same call the same way, whatever the order of its keys', () => {
    const a = providerKit.callInput({ command: 'npm test', options: { cwd: '.', env: { CI: '1' } } });
    const b = providerKit.callInput({ options: { env: { CI: '1' }, cwd: '.' }, command: 'npm test' });
    expect(a).toBe(b);
    expect(a).toBe('{"command":"npm test","options":{"cwd":".","env":{"CI":"1"}}}');
    expect(providerKit.callInput({ command: 'npm run lint' })).not.toBe(providerKit.callInput({ command: 'npm test' }));
  });

  it('keeps the start of a long call and its length; nothing for no arguments', () => {
    const long = providerKit.callInput({ content: 'x'.repeat(10_000) })!;
    expect(long.length).toBeLessThan(2100);
    expect(long.endsWith('…#10014')).toBe(true);
    expect(providerKit.callInput(undefined)).toBeUndefined();
    expect(providerKit.callInput(null)).toBeUndefined();
  });
});
