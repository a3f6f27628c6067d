/**
 * The read side of jobs — what `check`, `status`, `logs` and `report` need — as an entry of its own:
 * those commands run most often (dx-batch asks a host's status every cycle), and through this entry
 * they never build the schemas of outputs, gates, policy and launch they do not use. The same
 * functions are in the main entry; the bundle shares one copy of each module between the two.
 */
export { DxError, ExitCode } from './errors.js';
export { openStateRoot, stateRootPath } from './state/root.js';
export { Redactor } from './secrets/redact.js';
export { exitCodeForState } from './health/states.js';
export { findLatestJob, listJobs, requireJob } from './jobs/store.js';
export { jobStatus, jobViewsOf, toJobView } from './jobs/view.js';
export { readJobLog } from './jobs/logs.js';
export { diskUsage } from './jobs/disk.js';
export {
  buildFleetReport,
  buildJobReport,
  renderFleetReportMarkdown,
  renderJobReportMarkdown,
} from './reports/report.js';
