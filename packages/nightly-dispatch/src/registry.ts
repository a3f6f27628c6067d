/**
 * Every nightly-dispatch command by id: oclif's explicit command discovery (package.json `oclif.commands`).
 * The shipped bin runs an esbuild bundle of this module with @oclif/core and @dx/cli-kit inside
 * (scripts/bundle-bins.mjs); tests load it as it is. A command file not listed here does not exist for oclif.
 */
import { withFlowingDescriptions } from '@dx/cli-kit';
import Prune from './commands/prune.js';
import Run from './commands/run.js';
import Smoke from './commands/smoke.js';

export const COMMANDS = withFlowingDescriptions({
  prune: Prune,
  run: Run,
  smoke: Smoke,
});
