/**
 * Every dx-runner command by id: oclif's explicit command discovery (package.json `oclif.commands`).
 * The shipped bin runs an esbuild bundle of this module with @oclif/core and @dx/cli-kit inside
 * (scripts/bundle-bins.mjs), so a call reads one file instead of ~130; tests, docs and `bin/dev.js`
 * load it as it is. A command file that is not listed here does not exist for oclif.
 */
import { withFlowingDescriptions } from '@dx/cli-kit';
import BaselineGate from './commands/baseline-gate.js';
import BeadsGate from './commands/beads-gate.js';
import Check from './commands/check.js';
import CompletionBeadsIds from './commands/completion/beads-ids.js';
import Completion from './commands/completion/index.js';
import EvidenceGate from './commands/evidence-gate.js';
import FeatureKeyGate from './commands/feature-key-gate.js';
import Finalize from './commands/finalize.js';
import FleetPreflight from './commands/fleet/preflight.js';
import FleetStatus from './commands/fleet/status.js';
import IntegrityGate from './commands/integrity-gate.js';
import Logs from './commands/logs.js';
import Preflight from './commands/preflight.js';
import Probe from './commands/probe.js';
import Profiles from './commands/profiles.js';
import Prune from './commands/prune.js';
import Release from './commands/release.js';
import Report from './commands/report.js';
import Restart from './commands/restart.js';
import ScopeGate from './commands/scope-gate.js';
import Start from './commands/start.js';
import Status from './commands/status.js';
import Stop from './commands/stop.js';
import Version from './commands/version.js';
import Wait from './commands/wait.js';
import Watchdog from './commands/watchdog.js';
import WorktreeGate from './commands/worktree-gate.js';

export const COMMANDS = withFlowingDescriptions({
  'baseline-gate': BaselineGate,
  'beads-gate': BeadsGate,
  check: Check,
  'completion:beads-ids': CompletionBeadsIds,
  completion: Completion,
  'evidence-gate': EvidenceGate,
  'feature-key-gate': FeatureKeyGate,
  finalize: Finalize,
  'fleet:preflight': FleetPreflight,
  'fleet:status': FleetStatus,
  'integrity-gate': IntegrityGate,
  logs: Logs,
  preflight: Preflight,
  probe: Probe,
  profiles: Profiles,
  prune: Prune,
  release: Release,
  report: Report,
  restart: Restart,
  'scope-gate': ScopeGate,
  start: Start,
  status: Status,
  stop: Stop,
  version: Version,
  wait: Wait,
  watchdog: Watchdog,
  'worktree-gate': WorktreeGate,
});
