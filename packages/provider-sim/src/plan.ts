import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import type { Imitated, Scenario, Step } from './scenario.js';

/** A recording of a real CLI run: what it printed and how it exited. */
export interface Recording {
  stdout: string;
  stderr: string;
  rc: string;
}

export type PlanStep = Exclude<Step, { replay: string }> | { replay: Recording };

/** What the simulated agent of one job performs: the scenario with its recordings located. */
export interface Plan {
  scenario: string;
  beads: string;
  /** The work item: a dx-batch prompt's item (its review job runs as <item>-review), else the beads id. */
  item: string;
  /** A dx-batch prompt's attempt number, else 1. */
  attempt: number;
  /** Pause between steps, so a person watching sees the job progress. */
  paceMs: number;
  steps: PlanStep[];
}

const require = createRequire(import.meta.url);

/** The recordings each provider package ships beside its parser tests. */
export function recordingsDir(as: Imitated): string {
  return path.join(path.dirname(require.resolve(`@dx/provider-${as}/package.json`)), 'fixtures');
}

export function recording(as: Imitated, name: string): Recording {
  const base = path.join(recordingsDir(as), name);
  const files = { stdout: `${base}.stdout`, stderr: `${base}.stderr`, rc: `${base}.rc` };
  for (const file of Object.values(files))
    if (!fs.existsSync(file)) throw new Error(`no recording "${name}" of ${as} (${file} missing)`);
  return files;
}

export function buildPlan(scenario: Scenario, beads: string, item = beads, paceMs = 0, attempt = 1): Plan {
  return {
    scenario: scenario.name,
    beads,
    item,
    attempt,
    paceMs,
    steps: scenario.steps.map((step) => ('replay' in step ? { replay: recording(scenario.as!, step.replay) } : step)),
  };
}
