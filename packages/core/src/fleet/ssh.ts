import fs from 'node:fs';
import path from 'node:path';
import type { DxRunnerTransport, TransportRunOptions } from '../client/dx-runner-client.js';
import { DxError, ExitCode } from '../errors.js';
import type { FleetHostPolicy, FleetPolicy } from '../policy/schema.js';
import { runChild } from '../process/run.js';

/** ssh exits 255 for its own failures; every other code is the remote command's. */
const SSH_FAILED = 255;

export type HostFailure = 'host_unreachable' | 'host_auth_failed' | 'host_key_mismatch';

const NEXT_ACTION: Record<HostFailure, string> = {
  host_unreachable: 'check_that_the_host_is_up_and_its_sshd_answers',
  host_auth_failed: 'check_the_ssh_key_and_agent_for_the_host',
  host_key_mismatch: 'verify_the_host_key_then_update_known_hosts',
};

/** A fleet host that could not run the command (not the command's own failure). */
export class HostError extends DxError {
  constructor(
    readonly host: string,
    readonly failure: HostFailure | 'host_contract_mismatch' | 'ssh_not_found',
    message: string,
    nextAction: string,
  ) {
    super(message, { exitCode: ExitCode.hostFailed, reasonCode: failure, nextAction, details: { host } });
  }
}

/** What ssh's own error text (exit 255) says went wrong. */
export function classifySshFailure(stderr: string): HostFailure {
  if (/host key verification failed|remote host identification has changed|no \S+ host key is known/i.test(stderr))
    return 'host_key_mismatch';
  if (/permission denied|too many authentication failures|no supported authentication methods/i.test(stderr))
    return 'host_auth_failed';
  return 'host_unreachable';
}

/** The last line ssh printed about itself (its warnings come first, the reason last). */
function sshReason(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(@+|warning: permanently added)/i.test(l));
  return lines.at(-1) ?? 'ssh failed';
}

/** One argument for the remote shell, which re-splits ssh's command line: single-quoted. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * The private directory holding the ssh connection-sharing sockets: 0700, owned by this user,
 * refused otherwise (another user's socket there could stand in for a host).
 */
export function controlDirectory(env: NodeJS.ProcessEnv = process.env): string {
  // relative values are ignored (XDG spec): the sockets' place must not move with cwd
  const base = [env.XDG_RUNTIME_DIR, env.TMPDIR].find((d) => d && path.isAbsolute(d)) ?? '/tmp';
  const dir = path.join(base, `dx-runner-ssh-${process.getuid?.() ?? 'user'}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o077) !== 0)
    throw new DxError(`unsafe ssh control directory ${dir}: it must be a directory of yours with mode 0700`, {
      exitCode: ExitCode.permissionDenied,
      reasonCode: 'unsafe_ssh_control_dir',
      nextAction: 'remove_it_or_chmod_700',
    });
  return dir;
}

/** The ssh argv for one remote call (the options every call shares, then the destination and command). */
export function sshArgs(host: FleetHostPolicy, settings: FleetPolicy['ssh'], controlDir: string, remote: string[]) {
  return [
    ...(settings.config ? ['-F', settings.config] : []),
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${settings.connectTimeoutSec}`,
    '-o',
    'ControlMaster=auto',
    '-o',
    `ControlPath=${path.join(controlDir, '%C')}`,
    '-o',
    `ControlPersist=${settings.controlPersistSec > 0 ? `${settings.controlPersistSec}s` : 'no'}`,
    // a host that vanishes mid-call (power, network) is noticed in ~45 s, not at the TCP timeout
    '-o',
    'ServerAliveInterval=15',
    '-o',
    'ServerAliveCountMax=3',
    '-T',
    '--',
    host.ssh,
    remote.map(shellWord).join(' '),
  ];
}

/**
 * dx-runner on a fleet host, through the system's OpenSSH client (the user's config, agent,
 * known_hosts, ProxyJump apply). ssh's own failures (exit 255, no answer) reject with a HostError;
 * the remote dx-runner's exit codes are returned as they are.
 */
export class SshTransport implements DxRunnerTransport {
  readonly label: string;

  constructor(
    private readonly host: FleetHostPolicy,
    private readonly settings: FleetPolicy['ssh'],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.label = `ssh ${host.ssh} ${host.dxRunner}`;
  }

  run(args: string[], options: TransportRunOptions): Promise<{ code: number; stdout: string; stderr: string }> {
    return this.runRemote([this.host.dxRunner, ...args], options);
  }

  /** Any remote command (a shell word list), for what dx-runner does not answer itself (the host's load). */
  async runRemote(
    remote: string[],
    options: TransportRunOptions,
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = sshArgs(this.host, this.settings, controlDirectory(this.env), remote);
    const r = await runChild('ssh', args, { env: this.env, stdin: options.stdin, timeoutMs: options.timeoutMs });
    if (r.outcome === 'not_started') {
      if (r.error.code !== 'ENOENT') throw r.error;
      throw new HostError(
        this.host.name,
        'ssh_not_found',
        `no ssh client on PATH: host ${this.host.name} is reached with OpenSSH's ssh`,
        'install_the_openssh_client',
      );
    }
    if (r.outcome === 'timed_out')
      throw new HostError(
        this.host.name,
        'host_unreachable',
        `host ${this.host.name} (${this.host.ssh}): no answer within ${Math.round(options.timeoutMs / 1000)} s`,
        NEXT_ACTION.host_unreachable,
      );
    if (r.code === SSH_FAILED) {
      const failure = classifySshFailure(r.stderr);
      throw new HostError(
        this.host.name,
        failure,
        `host ${this.host.name} (${this.host.ssh}): ${sshReason(r.stderr)}`,
        NEXT_ACTION[failure],
      );
    }
    return r;
  }
}
