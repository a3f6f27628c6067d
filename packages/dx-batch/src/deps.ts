import fs from 'node:fs';
import { dxRunnerProviders } from '@dx/cli/in-process';
import { bundledDxRunner, DX_RUNNER_BIN } from '@dx/cli/locate';
import {
  BdClient,
  bdBinary,
  DxRunnerClient,
  dxRunnerCommand,
  LocalReads,
  LocalStarts,
  loadPolicy,
  validateEnv,
  type EnvVarSpec,
} from '@dx/core';
import { BATCH_SECTION } from './policy.js';
import { createView } from './reports/view.js';
import type { WaveDeps } from './orchestrator/lifecycle.js';
import { batchRootPath, openBatchRoot } from './waves/paths.js';

/**
 * dx-runner as a sibling package: DX_RUNNER_BIN, else `dx-runner` on PATH, else the @dx/cli we ship with.
 * When that is the @dx/cli we ship with, its read-only answers and its starts run in-process (no Node
 * start per poll or per job); stop, preflight and the rest still run dx-runner.
 */
export function dxRunnerClient(env: NodeJS.ProcessEnv = process.env): DxRunnerClient {
  const command = dxRunnerCommand(env, bundledDxRunner());
  if (!isOwnDxRunner(command)) return new DxRunnerClient({ command, env });
  return new DxRunnerClient({
    command,
    env,
    localReads: new LocalReads(env),
    localStarts: new LocalStarts({ env, load: () => dxRunnerProviders(env) }),
  });
}

function isOwnDxRunner(command: string[]): boolean {
  const own = (file: string) => {
    try {
      return fs.realpathSync(file) === fs.realpathSync(DX_RUNNER_BIN);
    } catch {
      return false;
    }
  };
  return command.length === 1 ? own(command[0]) : command.length === 2 && own(command[1]);
}

/** dx-batch's own variables (dx-runner's are checked too: a wave launches its jobs). */
export const BATCH_ENV: readonly EnvVarSpec[] = [
  {
    name: 'DX_BATCH_DIR',
    kind: 'absolute-path',
    default: '${XDG_STATE_HOME:-~/.local/state}/dx-batch',
    description: 'dx-batch state root',
  },
];

export function waveDeps(
  options: { policyFile?: string; silent: boolean; create: boolean },
  env: NodeJS.ProcessEnv = process.env,
): WaveDeps {
  validateEnv(env);
  validateEnv(env, BATCH_ENV);
  const root = openBatchRoot(env, options.create);
  const bin = bdBinary(env);
  return {
    root: root ?? batchRootPath(env),
    client: dxRunnerClient(env),
    policy: loadPolicy({ file: options.policyFile, env, sections: [BATCH_SECTION] }),
    view: createView(process.stderr, options.silent ? 'silent' : 'auto'),
    bd: bin ? new BdClient(bin, process.cwd(), env) : undefined,
  };
}
