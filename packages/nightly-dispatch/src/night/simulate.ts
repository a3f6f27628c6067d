import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DxError, ExitCode, readYamlFile } from '@dx/core';
import { z } from '@dx/core/zod';

/** The shipped scenario sets of `run --simulate` (a name), beside any file the operator writes. */
export const SIMULATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'simulations');

const SimulationSchema = z
  .object({
    description: z.string().min(1),
    /** provider id → the simulator scenario that stands in for it tonight */
    providers: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), z.string().min(1)),
  })
  .strict();

export interface Simulation {
  name: string;
  description: string;
  providers: Record<string, string>;
}

function refuse(message: string): DxError {
  return new DxError(message, {
    exitCode: ExitCode.usage,
    reasonCode: 'invalid_simulation',
    nextAction: 'pass_a_shipped_simulation_or_a_valid_file',
  });
}

export function shippedSimulations(): string[] {
  return fs
    .readdirSync(SIMULATIONS_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
}

/** A shipped scenario set by name, or a file: which scenario each provider plays tonight. */
export function loadSimulation(nameOrFile: string, cwd = process.cwd()): Simulation {
  const isPath = nameOrFile.includes('/') || /\.ya?ml$/.test(nameOrFile);
  const file = isPath ? path.resolve(cwd, nameOrFile) : path.join(SIMULATIONS_DIR, `${nameOrFile}.yaml`);
  if (!isPath && !fs.existsSync(file))
    throw refuse(`unknown simulation "${nameOrFile}" (shipped: ${shippedSimulations().join(', ')})`);
  // errors name the file, line and column (simulation_invalid, simulation_unreadable)
  const parsed = readYamlFile(file, SimulationSchema, 'simulation');
  return { name: path.basename(file).replace(/\.ya?ml$/, ''), ...parsed };
}

/** The dx-runner setting that makes its providers play the set (DX_RUNNER_SIMULATE). */
export function simulateEnv(simulation: Simulation): string {
  return Object.entries(simulation.providers)
    .map(([provider, scenario]) => `${provider}=${scenario}`)
    .join(',');
}
