import { BdClient, bdBinary, dxRunnerCommand, loadPolicy } from '@dx/core';
import type { NightDeps } from './night/run-night.js';

/** dx-runner as a sibling: DX_RUNNER_BIN, else `dx-runner` on PATH, else the @dx/cli we ship with. */
export function nightDeps(options: { policyFile?: string; log: (line: string) => void }, env: NodeJS.ProcessEnv = process.env): NightDeps {
  const bin = bdBinary(env);
  return {
    dxRunner: dxRunnerCommand(env),
    policy: loadPolicy({ file: options.policyFile, env }),
    policyFile: options.policyFile,
    bd: bin ? new BdClient(bin, process.cwd(), env) : undefined,
    env,
    log: options.log,
  };
}
