import {
  connectHost,
  DxRunnerClient,
  isDxError,
  LOCAL_HOST,
  ProcessTransport,
  type DxRunnerTransport,
  type Policy,
  type PreflightChainOutput,
} from '@dx/core';
import type { NightHostRecord } from '../schemas.js';

/** A host of the night: its dx-runner (this machine's through a process, the others' over ssh). */
export interface NightHost {
  name: string;
  transport: DxRunnerTransport | null;
  /** The chain entries this host may run (the night's, narrowed by its fleet entry's providers). */
  entries: string[];
  /** Its preflight chain's results, one per entry, in order (null when the host was skipped). */
  chain: PreflightChainOutput | null;
  record: NightHostRecord;
  live: number;
  /** Set when the host's dx-runner refused a start for lack of room: it takes nothing more tonight. */
  outOfRoom?: string;
}

/**
 * Each host of the night, side by side: contract-checked, then the night's preflight chain run
 * there (a host's fleet entry may narrow the providers). A host that fails is skipped with its reason.
 */
export async function preflightHosts(
  names: string[],
  entries: string[],
  options: { policy: Policy; policyFile?: string; dxRunner: string[]; env: NodeJS.ProcessEnv },
): Promise<NightHost[]> {
  return Promise.all(
    names.map(async (name): Promise<NightHost> => {
      const local = name === LOCAL_HOST;
      const record: NightHostRecord = {
        host: name,
        reachable: false,
        reason_code: null,
        error: null,
        passing: [],
        max_parallel: local ? null : (options.policy.fleet.hosts[name]?.maxParallel ?? null),
      };
      try {
        const transport = local
          ? new ProcessTransport(options.dxRunner, options.env)
          : (await connectHost(options.policy, name, options.env)).transport;
        const allowed = local ? undefined : options.policy.fleet.hosts[name]?.providers;
        const mine = allowed ? entries.filter((e) => allowed.includes(e.split(':')[0])) : entries;
        const { chain } = await new DxRunnerClient({ transport }).preflightChain(
          local ? options.policyFile : undefined,
          mine,
        );
        record.reachable = true;
        record.passing = mine.filter((_, n) => chain.results[n]?.ok === true);
        return { name, transport, entries: mine, chain, record, live: 0 };
      } catch (err) {
        if (!isDxError(err) && !(err as { reasonCode?: string }).reasonCode) throw err;
        const e = err as { reasonCode: string; message: string };
        Object.assign(record, { reason_code: e.reasonCode, error: e.message });
        return { name, transport: null, entries: [], chain: null, record, live: 0 };
      }
    }),
  );
}

/**
 * Where an item goes: the first entry of the chain that passes on some host with room, then the
 * least loaded such host (live / cap; a host without a cap counts as never full), ties in the
 * order given. Undefined when every host that could take it is full (or out of disk room tonight).
 */
export function pickNightHost(
  hosts: readonly NightHost[],
  entries: readonly string[],
): { host: NightHost; entry: string } | undefined {
  const load = (h: NightHost) => (h.record.max_parallel ? h.live / h.record.max_parallel : 0);
  for (const entry of entries) {
    const candidates = hosts
      .map((h, order) => ({ h, order }))
      .filter(
        ({ h }) =>
          h.record.reachable &&
          h.outOfRoom === undefined &&
          h.record.passing.includes(entry) &&
          (h.record.max_parallel === null || h.live < h.record.max_parallel),
      )
      .sort((a, b) => load(a.h) - load(b.h) || a.order - b.order);
    if (candidates.length > 0) return { host: candidates[0].h, entry };
  }
  return undefined;
}

/** The night's provider choice over the fleet: for each entry, a host's passing result, else a failing one. */
export function fleetChain(hosts: readonly NightHost[], entries: readonly string[]): PreflightChainOutput {
  const results = entries.flatMap((entry) => {
    const answers = hosts.flatMap((h) => {
      const n = h.entries.indexOf(entry);
      const r = n >= 0 ? h.chain?.results[n] : undefined;
      return r ? [r] : [];
    });
    const best = answers.find((r) => r.ok) ?? answers[0];
    return best ? [best] : [];
  });
  const selected = results.find((r) => r.ok) ?? null;
  const first = results[0];
  return {
    ok: selected !== null,
    selected_provider: selected?.provider ?? null,
    selected_model: selected?.model ?? null,
    primary_failure:
      first && !first.ok
        ? { provider: first.provider, reason_code: first.reason_code ?? 'failed', error: first.error ?? 'unavailable' }
        : null,
    results,
    warnings: [...new Set(hosts.flatMap((h) => (h.chain?.warnings ?? []).map((w) => `${h.name}: ${w}`)))],
  };
}
