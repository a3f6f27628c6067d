import { describe, expect, it } from 'vitest';
import { beadsOfStateFile } from './jobs.js';

describe('which job a changed state file belongs to', () => {
  it('maps every kind of job file, rotations and temporaries to its beads id', () => {
    expect(beadsOfStateFile('bd-x.meta')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.heartbeat')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.outcome.3')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.watcher.log')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.log.2')).toBe('bd-x');
    expect(beadsOfStateFile('bd-x.heartbeat.4242.7.tmp')).toBe('bd-x');
    expect(beadsOfStateFile('bd-a.b.outcome')).toBe('bd-a.b');
  });

  it('ignores files that are not a job file', () => {
    expect(beadsOfStateFile('.lock')).toBeUndefined();
    expect(beadsOfStateFile('notes.txt')).toBeUndefined();
    expect(beadsOfStateFile('.meta')).toBeUndefined();
  });
});
