import { bundledDxRunner } from '@dx/cli/locate';
import { BdClient, bdBinary, dxRunnerCommand, loadPolicy, validateEnv, type EnvVarSpec } from '@dx/core';
import { NIGHTLY_SECTION } from './config/policy.js';
import type { NightDeps } from './night/run-night.js';
import { simulateEnv, type Simulation } from './night/simulate.js';

/** dx-runner as a sibling: DX_RUNNER_BIN, else `dx-runner` on PATH, else the @dx/cli we ship with. */
/** nightly-dispatch's own variables (dx-runner's are checked too: the night launches its jobs). */
export const NIGHTLY_ENV: readonly EnvVarSpec[] = [
  {
    name: 'NIGHTLY_DISPATCH_DIR',
    kind: 'absolute-path',
    default: '${XDG_STATE_HOME:-~/.local/state}/nightly-dispatch',
    description: 'nightly-dispatch state root',
  },
];

export function nightDeps(
  options: { policyFile?: string; log: (line: string) => void; simulation?: Simulation },
  processEnv: NodeJS.ProcessEnv = process.env,
): NightDeps {
  // a rehearsal: the dx-runner it runs replaces the named providers by the simulator
  const env = options.simulation ? { ...processEnv, DX_RUNNER_SIMULATE: simulateEnv(options.simulation) } : processEnv;
  validateEnv(env);
  validateEnv(env, NIGHTLY_ENV);
  const bin = bdBinary(env);
  return {
    dxRunner: dxRunnerCommand(env, bundledDxRunner()),
    policy: loadPolicy({ file: options.policyFile, env, sections: [NIGHTLY_SECTION] }),
    policyFile: options.policyFile,
    bd: bin ? new BdClient(bin, process.cwd(), env) : undefined,
    env,
    log: options.log,
    simulation: options.simulation,
  };
}
