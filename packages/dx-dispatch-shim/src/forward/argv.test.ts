import { describe, expect, it } from 'vitest';
import { loadPolicy, sectionOf } from '@dx/core';
import { DISPATCH_SECTION, providerForVm } from '../dispatch/vm.js';
import { parseLegacyArgv } from './argv.js';
import { shellLine } from './forward.js';

const TABLE = { '--beads': 'value', '--wait': 'none', '--status': 'optional', '--slack': 'none' } as const;

describe('legacy argv', () => {
  it('never lets a boolean flag swallow the next word (the old shim trap)', () => {
    const p = parseLegacyArgv(['epyc6', '--slack', 'fix the bug', '--beads', 'bd-1', '--wait'], TABLE);
    expect(p.positionals).toEqual(['epyc6', 'fix the bug']);
    expect([...p.flags]).toEqual([
      ['--slack', true],
      ['--beads', 'bd-1'],
      ['--wait', true],
    ]);
  });

  it('reports a value flag at the end and unknown flags instead of aborting or dropping them', () => {
    expect(parseLegacyArgv(['--beads'], TABLE).missingValue).toEqual(['--beads']);
    expect(parseLegacyArgv(['--bogus', 'x', '--wait=1'], TABLE).unknown).toEqual(['--bogus', '--wait=1']);
    expect(parseLegacyArgv(['--beads=bd-2'], TABLE).flags.get('--beads')).toBe('bd-2');
  });

  it('reads an optional value only when one follows', () => {
    expect(parseLegacyArgv(['--status'], TABLE).flags.get('--status')).toBe(true);
    expect(parseLegacyArgv(['--status', '--json'], { ...TABLE, '--json': 'none' }).flags.get('--status')).toBe(true);
    expect(parseLegacyArgv(['--status', 'epyc6'], TABLE).flags.get('--status')).toBe('epyc6');
  });
});

describe('vm → provider', () => {
  it('maps like the legacy tool with the shipped policy, and lets a policy name a host', () => {
    const shipped = sectionOf(loadPolicy({ env: {}, sections: [DISPATCH_SECTION] }), DISPATCH_SECTION);
    expect(['cc-glm', 'local', 'LOCAL', 'gemini', 'epyc6', 'macmini'].map((vm) => providerForVm(vm, shipped))).toEqual([
      'cc-glm',
      'cc-glm',
      'cc-glm',
      'gemini',
      'opencode',
      'opencode',
    ]);
    expect(providerForVm('macmini', { ...shipped, hosts: { ...shipped.hosts, macmini: 'cc-glm' } })).toBe('cc-glm');
    expect(providerForVm('epyc6', { hosts: {}, defaultProvider: null })).toBeUndefined();
  });
});

describe('deprecation line', () => {
  it('quotes what a shell would split', () => {
    expect(shellLine(['dx-runner', 'start', '--beads', 'bd-1', '--prompt-file', "it's here"])).toBe(
      `dx-runner start --beads bd-1 --prompt-file 'it'\\''s here'`,
    );
  });
});
