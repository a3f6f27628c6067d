/**
 * Every dx-batch command by id: oclif's explicit command discovery (package.json `oclif.commands`).
 * The shipped bin runs an esbuild bundle of this module with @oclif/core and @dx/cli-kit inside
 * (scripts/bundle-bins.mjs); tests load it as it is. A command file not listed here does not exist for oclif.
 */
import { withFlowingDescriptions } from '@dx/cli-kit';
import Cancel from './commands/cancel.js';
import Demo from './commands/demo.js';
import Doctor from './commands/doctor.js';
import Prune from './commands/prune.js';
import Report from './commands/report.js';
import Resume from './commands/resume.js';
import Start from './commands/start.js';
import Status from './commands/status.js';

export const COMMANDS = withFlowingDescriptions({
  cancel: Cancel,
  demo: Demo,
  doctor: Doctor,
  prune: Prune,
  report: Report,
  resume: Resume,
  start: Start,
  status: Status,
});
