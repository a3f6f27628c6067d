import { describe, expect, it } from 'vitest';
import { formatDuration, renderTable } from './table.js';

describe('renderTable', () => {
  it('aligns columns, upper-cases headers, shows missing values as "-" and cuts long cells', () => {
    const out = renderTable(
      ['beads', 'state', 'pid'],
      [
        ['bd-1', 'healthy', 42],
        ['bd-long-name', null, undefined],
        ['x'.repeat(60), 'stalled', 7],
      ],
      20,
    );
    expect(out.split('\n')).toEqual([
      'BEADS                 STATE    PID',
      'bd-1                  healthy  42',
      'bd-long-name          -        -',
      `${'x'.repeat(19)}…  stalled  7`,
    ]);
  });

  it('formats durations as s, m s, h m', () => {
    expect([formatDuration(5), formatDuration(125), formatDuration(3725), formatDuration(null)]).toEqual([
      '5s',
      '2m5s',
      '1h2m',
      '-',
    ]);
  });
});
