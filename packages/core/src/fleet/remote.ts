import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { JSON_CONTRACT_VERSION, VersionOutputSchema, type VersionOutput } from '../schemas/outputs.js';
import type { Policy } from '../policy/schema.js';
import { writeFileAtomic } from '../state/atomic.js';
import { remoteHost } from './hosts.js';
import { controlDirectory, HostError, SshTransport } from './ssh.js';

export interface HostContract {
  version: string;
  json_contract_version: number;
}

/**
 * Refuse a host whose dx-runner speaks another JSON contract, before anything runs there. The
 * answer is remembered (in the private ssh control directory) as long as the shared connection
 * lives, so a call over a warm connection costs one round-trip, not two.
 */
export async function verifyHostContract(
  name: string,
  transport: SshTransport,
  policy: Policy,
  env: NodeJS.ProcessEnv = process.env,
): Promise<HostContract> {
  const ttlMs = policy.fleet.ssh.controlPersistSec * 1000;
  const key = createHash('sha256').update(`${name}\0${transport.label}`).digest('hex').slice(0, 16);
  const cache = path.join(controlDirectory(env), `contract-${key}.json`);
  if (ttlMs > 0) {
    try {
      const st = fs.statSync(cache);
      const cached = JSON.parse(fs.readFileSync(cache, 'utf8')) as HostContract;
      if (Date.now() - st.mtimeMs < ttlMs && cached.json_contract_version === JSON_CONTRACT_VERSION) return cached;
    } catch {
      // no answer remembered: ask the host
    }
  }
  const r = await transport.run(['version', '--json'], { timeoutMs: connectBudgetMs(policy) });
  let version: VersionOutput | undefined;
  try {
    version = VersionOutputSchema.parse(JSON.parse(r.stdout));
  } catch {
    version = undefined;
  }
  const upgrade = 'install_the_same_dx_runner_release_on_the_host';
  if (!version)
    throw new HostError(
      name,
      'host_contract_mismatch',
      `host ${name}: its dx-runner (${transport.label}) does not answer \`version --json\` (exit ${r.code}), so it predates JSON contract ${JSON_CONTRACT_VERSION}: install the same dx-runner release there`,
      upgrade,
    );
  if (version.json_contract_version !== JSON_CONTRACT_VERSION)
    throw new HostError(
      name,
      'host_contract_mismatch',
      `host ${name}: dx-runner ${version.version} speaks JSON contract ${version.json_contract_version}, this one (${JSON_CONTRACT_VERSION}) cannot read it: install the same dx-runner release on both (npm install -g the release's .tgz)`,
      upgrade,
    );
  const contract = { version: version.version, json_contract_version: version.json_contract_version };
  if (ttlMs > 0) writeFileAtomic(cache, JSON.stringify(contract), 0o600);
  return contract;
}

/** How long a call that only asks may take: the connect timeout plus time for dx-runner to answer. */
export function connectBudgetMs(policy: Policy): number {
  return (policy.fleet.ssh.connectTimeoutSec + 20) * 1000;
}

export interface HostRunOptions {
  stdin?: string;
  /** Default: a week (a forwarded `wait` blocks as long as the job runs). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** The transport to a remote host of the policy's fleet, checked to speak this JSON contract. */
export async function connectHost(policy: Policy, name: string, env: NodeJS.ProcessEnv = process.env) {
  const transport = new SshTransport(remoteHost(policy, name), policy.fleet.ssh, env);
  const contract = await verifyHostContract(name, transport, policy, env);
  return { transport, contract };
}

/** Run dx-runner with `args` on a remote host; its exit code and output come back as they are. */
export async function runOnHost(policy: Policy, name: string, args: string[], options: HostRunOptions = {}) {
  const { transport } = await connectHost(policy, name, options.env);
  return transport.run(args, { stdin: options.stdin, timeoutMs: options.timeoutMs ?? 7 * 24 * 3600 * 1000 });
}
