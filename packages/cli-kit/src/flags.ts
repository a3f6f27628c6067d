import { Flags } from '@oclif/core';

export const beadsFlag = Flags.custom<string>({ description: 'Beads issue id (e.g. bd-xga8.14)', helpValue: '<id>' });

/** A positive decimal, so tests and operators can use sub-minute thresholds (e.g. 0.05). */
export const positiveNumber = Flags.custom<number>({
  helpValue: '<n>',
  async parse(input) {
    const n = Number(input);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${input}"`);
    return n;
  },
});
