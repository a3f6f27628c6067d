import { Args, Flags } from '@oclif/core';
import { assertBeadsId } from '@dx/core/ids';
import { USAGE_EXIT_CODE } from './usage.js';

/** Beads ids become file names: the flag refuses anything else as it parses (invalid_beads_id). */
export const beadsFlag = Flags.custom<string>({
  description: 'Beads issue id (e.g. bd-xga8.14)',
  helpValue: '<id>',
  parse: async (input) => assertBeadsId(input),
});

/** One or more beads ids, comma-separated (`--beads bd-a,bd-b`); each checked as --beads checks one. */
export const beadsListFlag = Flags.custom<string[]>({
  description: 'Beads issue id, or several comma-separated',
  helpValue: '<id>[,<id>…]',
  parse: async (input) => [...new Set(input.split(',').map((id) => assertBeadsId(id.trim())))],
});

/**
 * The positional form of the same id: `dx-runner check bd-xxx`. Checked by jobBeads, after oclif's
 * own checks: oclif parses arguments before it refuses an unknown flag, so a mistyped flag's value
 * (`--tail -5`) would otherwise be refused as a beads id instead of naming the flag.
 */
export const beadsArg = Args.custom<string>({ description: 'Beads issue id (the same as --beads)' });

class UsageError extends Error {
  readonly exitCode = USAGE_EXIT_CODE;
  constructor(
    message: string,
    readonly reasonCode: string,
  ) {
    super(message);
  }
}

/** The beads id of a per-job command: the positional argument or --beads, which must agree when both are given. */
export function jobBeads(arg: string | undefined, flag: string | undefined): string;
export function jobBeads(arg: string | undefined, flag: string | undefined, required: false): string | undefined;
export function jobBeads(arg: string | undefined, flag: string | undefined, required = true): string | undefined {
  if (arg !== undefined) assertBeadsId(arg);
  if (arg !== undefined && flag !== undefined && arg !== flag)
    throw new UsageError(`two different beads ids: ${arg} (argument) and ${flag} (--beads)`, 'beads_id_conflict');
  const beads = arg ?? flag;
  if (beads === undefined && required)
    throw new UsageError('missing beads id: pass it as an argument or with --beads', 'usage');
  return beads;
}

/** A positive decimal, so tests and operators can use sub-minute thresholds (e.g. 0.05). */
export const positiveNumber = Flags.custom<number>({
  helpValue: '<n>',
  async parse(input) {
    const n = Number(input);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${input}"`);
    return n;
  },
});

/**
 * `--host NAME`: run the command on that fleet host (the policy's fleet.hosts) over SSH; `local` is
 * this machine. DxCommand forwards the command before parsing, so the host's dx-runner parses it.
 */
export const hostFlag = Flags.string({
  description: 'run on this fleet host (policy fleet.hosts; "local" is this machine); paths are the host\'s',
  helpValue: '<name>',
});
