import os from 'node:os';
import { DxRunnerClient, type DxRunnerTransport } from '../client/dx-runner-client.js';
import { DxError, ExitCode, isDxError } from '../errors.js';
import type { Policy } from '../policy/schema.js';
import type { FleetHostStatus, FleetPreflightOutput, FleetStatusOutput } from '../schemas/outputs.js';
import type { HostContract } from './remote.js';
import { fleetHostNames, LOCAL_HOST } from './hosts.js';
import { connectBudgetMs, connectHost } from './remote.js';
import { measureHostClock } from './host-clock.js';
import type { SshTransport } from './ssh.js';

export interface FleetQueryOptions {
  policy: Policy;
  /** This machine's dx-runner (the CLI passes its own bin: core never looks for the CLI). */
  localTransport: DxRunnerTransport;
  env?: NodeJS.ProcessEnv;
}

interface Reached {
  client: DxRunnerClient;
  contract: HostContract;
  ssh?: SshTransport;
}

/** A host's dx-runner, contract-checked (remote) or this machine's. */
async function reach(name: string, options: FleetQueryOptions): Promise<Reached> {
  const timeoutMs = connectBudgetMs(options.policy);
  if (name === LOCAL_HOST) {
    const client = new DxRunnerClient({ transport: options.localTransport, timeoutMs });
    const v = (await options.localTransport.run(['version', '--json'], { timeoutMs })).stdout;
    const { version, json_contract_version } = JSON.parse(v) as HostContract;
    return { client, contract: { version, json_contract_version } };
  }
  const { transport, contract } = await connectHost(options.policy, name, options.env);
  return { client: new DxRunnerClient({ transport, timeoutMs }), contract, ssh: transport };
}

function failureOf(err: unknown): { reason_code: string; message: string } {
  if (isDxError(err)) return { reason_code: err.reasonCode, message: err.message };
  const e = err as { reasonCode?: string; message?: string };
  return { reason_code: e.reasonCode ?? 'host_error', message: e.message ?? String(err) };
}

/** `work` for one host, bounded by the connect budget: a slow or dead host never delays the others. */
async function bounded<T>(name: string, policy: Policy, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const budget = connectBudgetMs(policy);
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new DxError(`host ${name}: no answer within ${Math.round(budget / 1000)} s`, {
            exitCode: ExitCode.hostFailed,
            reasonCode: 'host_unreachable',
            details: { host: name },
          }),
        ),
      budget,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** The providers a host may run: its fleet entry's list, else its own policy's chain. */
function providersOf(name: string, policy: Policy): string[] | undefined {
  return name === LOCAL_HOST ? undefined : policy.fleet.hosts[name]?.providers;
}

async function hostStatus(name: string, options: FleetQueryOptions): Promise<FleetHostStatus> {
  const started = Date.now();
  const { policy } = options;
  const row: FleetHostStatus = {
    host: name,
    ssh: name === LOCAL_HOST ? null : (policy.fleet.hosts[name]?.ssh ?? null),
    reachable: false,
    failure: null,
    version: null,
    json_contract_version: null,
    live_jobs: null,
    max_parallel: name === LOCAL_HOST ? null : (policy.fleet.hosts[name]?.maxParallel ?? null),
    providers_ok: [],
    providers_failed: [],
    load: null,
    clock_offset_ms: null,
    elapsed_ms: 0,
  };
  try {
    await bounded(
      name,
      policy,
      (async () => {
        const { client, contract, ssh } = await reach(name, options);
        row.reachable = true;
        row.version = contract.version;
        row.json_contract_version = contract.json_contract_version;
        const askedAt = Date.now();
        const [status, chain, load] = await Promise.all([
          client
            .status()
            .then((answer) => ({ answer, clock: measureHostClock(answer.generated_at, askedAt, Date.now()) })),
          client.preflightChain(undefined, providersOf(name, policy)),
          ssh
            ? ssh
                .runRemote(['cat', '/proc/loadavg'], { timeoutMs: connectBudgetMs(policy) })
                .then((r) => (r.code === 0 ? r.stdout.trim().split(/\s+/).slice(0, 3).map(Number) : null))
            : Promise.resolve(os.loadavg()),
        ]);
        row.live_jobs = status.answer.jobs.filter((j) => j.outcome_state === null).length;
        row.clock_offset_ms = status.clock ? Math.round(status.clock.offsetMs) : null;
        row.providers_ok = chain.chain.results.filter((r) => r.ok).map((r) => r.provider);
        row.providers_failed = chain.chain.results
          .filter((r) => !r.ok)
          .map((r) => ({ provider: r.provider, reason_code: r.reason_code }));
        row.load = load && load.every(Number.isFinite) ? load.map((n) => Math.round(n * 100) / 100) : null;
      })(),
    );
  } catch (err) {
    row.failure = failureOf(err);
  }
  row.elapsed_ms = Date.now() - started;
  return row;
}

/** `fleet status`'s exit: 26 when a host is down, else 0. */
export function fleetStatusExitCode(result: FleetStatusOutput): number {
  return result.hosts.some((h) => !h.reachable) ? ExitCode.hostFailed : ExitCode.success;
}

/** `fleet preflight`'s exit: 26 when a host is down, 21 when a reachable host has no provider that passes, else 0. */
export function fleetPreflightExitCode(result: FleetPreflightOutput): number {
  if (result.hosts.some((h) => !h.reachable)) return ExitCode.hostFailed;
  return result.ok ? ExitCode.success : ExitCode.preflightFailed;
}

/** Every host of the fleet, side by side. */
export async function fleetStatus(options: FleetQueryOptions): Promise<FleetStatusOutput> {
  const hosts = await Promise.all(fleetHostNames(options.policy).map((name) => hostStatus(name, options)));
  return { generated_at: new Date().toISOString(), hosts };
}

/** Each host's provider chain, side by side. */
export async function fleetPreflight(options: FleetQueryOptions): Promise<FleetPreflightOutput> {
  const hosts = await Promise.all(
    fleetHostNames(options.policy).map(async (name) => {
      try {
        const chain = await bounded(
          name,
          options.policy,
          (async () => {
            const { client } = await reach(name, options);
            return (await client.preflightChain(undefined, providersOf(name, options.policy))).chain;
          })(),
        );
        return { host: name, reachable: true, failure: null, chain };
      } catch (err) {
        return { host: name, reachable: false, failure: failureOf(err), chain: null };
      }
    }),
  );
  return { ok: hosts.every((h) => h.reachable && h.chain?.ok === true), hosts };
}
