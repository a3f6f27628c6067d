import { describe, expect, it } from 'vitest';
import { argvFlag, replaceFlagValue, withoutFlag } from './host-argv.js';

describe('raw argv flags (what --host forwards)', () => {
  it('reads both spellings and stops at --', () => {
    expect(argvFlag(['check', '--host', 'epyc6', '--json'], 'host')).toBe('epyc6');
    expect(argvFlag(['--host=mac', 'x'], 'host')).toBe('mac');
    expect(argvFlag(['--', '--host', 'x'], 'host')).toBeUndefined();
    expect(argvFlag(['--hostile', 'x'], 'host')).toBeUndefined();
  });

  it('removes a flag with its value and keeps everything else in order', () => {
    expect(withoutFlag(['--beads', 'bd-1', '--host', 'a', '--json', '--policy=p.yaml'], 'host')).toEqual([
      '--beads',
      'bd-1',
      '--json',
      '--policy=p.yaml',
    ]);
    expect(withoutFlag(['--policy=p.yaml', '--json'], 'policy')).toEqual(['--json']);
    expect(replaceFlagValue(['--prompt-file', '/tmp/p', '--json'], 'prompt-file', '-')).toEqual([
      '--json',
      '--prompt-file',
      '-',
    ]);
  });
});
