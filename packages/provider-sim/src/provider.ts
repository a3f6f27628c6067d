/**
 * The simulator: a scripted agent that runs a scenario in the worktree through the real engine
 * (watcher, heartbeats, outcome, report) without calling any model. Only the policy or an explicit
 * `--provider sim` ever selects it; its model reads `sim:<scenario>` wherever the job is shown.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  CoreServices,
  LaunchRequest,
  LaunchSpec,
  PreflightCheck,
  PreflightContext,
  Provider,
  ProviderPreflight,
} from '@dx/core';
import { buildPlan, type Plan } from './plan.js';
import { ALT_PROVIDER_ID } from './id.js';
import { provider as runtime, PROVIDER_ID } from './runtime.js';
import { loadScenario, ScenarioError, type Scenario } from './scenario.js';

export const DEFAULT_SCENARIO = 'success';
const AGENT = fileURLToPath(new URL('./agent.js', import.meta.url));

/** The DX-BATCH-* header of a dx-batch prompt: item, phase, attempt. */
export function batchHeader(prompt: string): Record<string, string> {
  return Object.fromEntries(
    [...prompt.matchAll(/^DX-BATCH-([A-Z]+): (\S+)$/gm)].map((m) => [m[1].toLowerCase(), m[2]]),
  );
}

/**
 * DX_SIM_SCENARIOS names a folder of scenarios per item, for a wave where each item behaves
 * differently: the first of <item>.<phase>.<attempt>, <item>.<phase>.<provider>, <item>.<phase>,
 * default.<phase>.<provider>, default.<phase>, default (.yaml) that exists.
 */
function scenarioFromFolder(request: LaunchRequest, providerId: string): string | undefined {
  const dir = request.env.DX_SIM_SCENARIOS?.trim();
  if (!dir) return undefined;
  const h = batchHeader(request.prompt);
  const item = h.item ?? request.beads;
  const names = [
    ...(h.phase ? [`${item}.${h.phase}.${h.attempt}`, `${item}.${h.phase}.${providerId}`, `${item}.${h.phase}`] : []),
    item,
    ...(h.phase ? [`default.${h.phase}.${providerId}`, `default.${h.phase}`] : []),
    'default',
  ];
  return names.map((n) => path.join(dir, `${n}.yaml`)).find((f) => fs.existsSync(f));
}

/**
 * The scenario of a job: `--scenario`, else the DX_SIM_SCENARIOS folder's pick, else
 * DX_SIM_SCENARIO (for tools that start jobs themselves), else success.
 */
export function scenarioFor(request: LaunchRequest, providerId: string): string {
  return (
    request.scenario ||
    scenarioFromFolder(request, providerId) ||
    request.env.DX_SIM_SCENARIO?.trim() ||
    DEFAULT_SCENARIO
  );
}

/** DX_SIM_PACE_MS: a pause between the simulated agent's steps (the demo uses it so the job can be watched). */
function paceMs(env: NodeJS.ProcessEnv): number {
  const n = Number(env.DX_SIM_PACE_MS ?? 0);
  return Number.isFinite(n) && n > 0 ? Math.min(n, 60_000) : 0;
}

function plan(scenario: Scenario, request: LaunchRequest): Plan {
  const header = batchHeader(request.prompt);
  const attempt = Number(header.attempt);
  return buildPlan(
    scenario,
    request.beads,
    header.item ?? request.beads,
    paceMs(request.env),
    Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
  );
}

/** `sim`, and `sim-alt` so a fallback from one simulated provider to another can be rehearsed. */
export function createSimProviders(services: CoreServices): Provider[] {
  return [
    createSimProvider(services, PROVIDER_ID, 'Simulator (scripted agent, no model)'),
    createSimProvider(services, ALT_PROVIDER_ID, 'Simulator, second id for fallback rehearsal (no model)'),
  ];
}

/**
 * The options of one simulated provider: its id and name, and the scenario it always plays when it
 * stands in for a real provider (DX_RUNNER_SIMULATE).
 */
interface SimIdentity {
  id: string;
  displayName: string;
  forcedScenario?: string;
}

export function createSimProvider(services: CoreServices, id: string, displayName: string): Provider {
  return simProvider(services, { id, displayName });
}

function simProvider(services: CoreServices, self: SimIdentity): Provider {
  const { id, displayName } = self;
  return {
    ...runtime,
    id,
    displayName,
    runtimeModule: new URL('./runtime.js', import.meta.url).href,
    simulator: true,

    impersonate(real, scenario) {
      return simProvider(services, {
        id: real.id,
        displayName: `${real.displayName} (simulated: ${scenario})`,
        forcedScenario: scenario,
      });
    },

    buildLaunch(request: LaunchRequest): LaunchSpec {
      const scenario = loadScenario(
        request.scenario || self.forcedScenario || scenarioFor(request, id),
        services.readYamlFile,
      );
      const planFile = path.join(request.jobHome, 'sim-plan.json');
      return {
        command: process.execPath,
        args: [AGENT, planFile],
        env: services.childEnv(request, { DX_SIM: '1' }),
        cwd: request.worktree,
        // like the real CLIs, the prompt arrives on stdin
        stdinFile: request.promptFile,
        files: [{ path: planFile, content: `${JSON.stringify(plan(scenario, request))}\n` }],
        selectedModel: `sim:${scenario.name}`,
        fallbackReason: 'none',
        runtimeOptions: { as: scenario.as, maxRetries: 3, credentialsPresent: scenario.credentials === 'present' },
      };
    },

    /**
     * Always a `simulator` warning. A provider standing in for a real one fails its preflight the
     * way its scenario ends (rate limited, auth, …), so the chain falls back as it would for real.
     */
    async preflight(ctx: PreflightContext): Promise<ProviderPreflight> {
      const name = self.forcedScenario || ctx.env.DX_SIM_SCENARIO?.trim() || DEFAULT_SCENARIO;
      const simulator = {
        name: 'simulator',
        status: 'warn',
        detail: 'simulated agent: no model is called, nothing real is done',
      } as const;
      const result = (checks: PreflightCheck[]): ProviderPreflight => ({
        ok: checks.every((c) => c.status !== 'fail'),
        binary: { path: process.execPath, version: `simulator (node ${process.version})` },
        // standing in for a real provider, it answers with the model the policy chose for that provider
        model: self.forcedScenario ? ctx.model : `sim:${name}`,
        checks: [simulator, ...checks],
      });
      let scenario: Scenario;
      try {
        scenario = loadScenario(name, services.readYamlFile);
      } catch (err) {
        if (!(err instanceof ScenarioError)) throw err;
        return result([
          {
            name: 'scenario',
            status: 'fail',
            detail: err.message,
            reasonCode: 'sim_scenario_invalid',
            failureClass: 'crashed',
          },
        ]);
      }
      const detail = `scenario ${scenario.name}: ${scenario.description}`;
      const failing = self.forcedScenario && scenario.expect.state === 'exited_err';
      return result([
        failing
          ? {
              name: 'scenario',
              status: 'fail',
              detail: `simulated failure: ${scenario.description}`,
              reasonCode: scenario.expect.reason_code,
              failureClass: scenario.expect.failure_class as PreflightCheck['failureClass'],
            }
          : { name: 'scenario', status: 'ok', detail },
      ]);
    },
  };
}
