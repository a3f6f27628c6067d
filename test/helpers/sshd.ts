import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { CLI_BIN, skewedClockEnv } from './paths.js';

/**
 * Real OpenSSH servers on 127.0.0.1 standing in for the hosts of a fleet. Each has its own host
 * key, port, state root, HOME and PATH (set by `environment=` in its authorized_keys, which
 * PermitUserEnvironment allows); only the test's own key may log in, never a password. The
 * client side is an ssh config file (`-F`) with its own known_hosts: no real home is read or written.
 */
export const SSHD = '/usr/sbin/sshd';

export interface SshHost {
  name: string;
  port: number;
  dir: string;
  state: string;
  home: string;
  hostPublicKey: string;
  /** The sshd process (started by this test, so it may be signalled by its ChildProcess). */
  process: ChildProcess;
  /** End the sshd (its open connections stay: see SshFleet.disconnect). */
  stop(): Promise<void>;
  /** Start it again on the same port with the same host key (the host is back). */
  start(): Promise<void>;
}

export interface SshFleet {
  dir: string;
  /** The ssh client config every call uses (`fleet.ssh.config`). */
  config: string;
  knownHosts: string;
  clientKey: string;
  hosts: Record<string, SshHost>;
  /** Add a client alias (Host block) for an existing sshd, with overrides (IdentityFile, HostKeyAlias…). */
  alias(alias: string, host: SshHost, extra?: Record<string, string>): void;
  /** Close the shared connection (ControlMaster) a client keeps to `alias` in this control dir, as a network cut would. */
  disconnect(controlDir: string, alias: string): void;
  /** Close every shared connection the clients left (the masters in these control dirs), then stop every sshd. */
  cleanup(controlDirs: string[]): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, sshd: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (sshd.exitCode !== null) throw new Error(`sshd exited ${sshd.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd on port ${port} did not start`);
}

function sshdConfig(hostDir: string, port: number): string {
  return [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(hostDir, 'host_key')}`,
    `PidFile ${path.join(hostDir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(hostDir, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'PermitUserEnvironment yes',
    'PermitUserRC no',
    'UsePAM no',
    'StrictModes no',
    'X11Forwarding no',
    'AllowTcpForwarding no',
    'PrintMotd no',
    'MaxSessions 50',
    'MaxStartups 50',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

function keygen(file: string): string {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', path.basename(file), '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim();
}

/** The environment the host's dx-runner sees (its own state root, HOME, TMPDIR, PATH). */
function hostEnvironment(dir: string, extra: Record<string, string>): Record<string, string> {
  return {
    HOME: path.join(dir, 'home'),
    XDG_CONFIG_HOME: path.join(dir, 'home', '.config'),
    XDG_CACHE_HOME: path.join(dir, 'home', '.cache'),
    XDG_STATE_HOME: path.join(dir, 'home', '.local', 'state'),
    XDG_DATA_HOME: path.join(dir, 'home', '.local', 'share'),
    TMPDIR: path.join(dir, 'tmp'),
    PATH: `${path.join(dir, 'bin')}:/usr/local/bin:/usr/bin:/bin`,
    LANG: 'C.UTF-8',
    NODE_ENV: 'production',
    DX_RUNNER_STATE_DIR: path.join(dir, 'state'),
    OCLIF_DISABLE_LINKED_ESM_WARNING: '1',
    ...extra,
  };
}

export async function startFleet(
  dir: string,
  names: string[],
  hostEnv: (name: string, dir: string) => Record<string, string> = () => ({}),
): Promise<SshFleet> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // sshd running as root wants its privilege-separation directory
  if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const clientKey = path.join(dir, 'client_key');
  const clientPub = keygen(clientKey);
  const config = path.join(dir, 'ssh_config');
  const knownHosts = path.join(dir, 'known_hosts');
  fs.writeFileSync(config, '');
  fs.writeFileSync(knownHosts, '');
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  const fleet: SshFleet = {
    dir,
    config,
    knownHosts,
    clientKey,
    hosts: {},
    alias(alias, host, extra = {}) {
      const options: Record<string, string> = {
        HostName: '127.0.0.1',
        Port: String(host.port),
        User: user,
        IdentityFile: clientKey,
        IdentitiesOnly: 'yes',
        IdentityAgent: 'none',
        UserKnownHostsFile: knownHosts,
        GlobalKnownHostsFile: '/dev/null',
        StrictHostKeyChecking: 'yes',
        HostKeyAlias: host.name,
        LogLevel: 'ERROR',
        ...extra,
      };
      fs.appendFileSync(
        config,
        `Host ${alias}\n${Object.entries(options)
          .map(([k, v]) => `  ${k} ${v}`)
          .join('\n')}\n`,
      );
    },
    disconnect(controlDir, alias) {
      try {
        execFileSync('ssh', ['-F', config, '-o', `ControlPath=${path.join(controlDir, '%C')}`, '-O', 'exit', alias], {
          stdio: 'ignore',
          timeout: 10_000,
        });
      } catch {
        // no shared connection to close
      }
    },
    async cleanup(controlDirs) {
      // each socket is a ControlPersist master this test's ssh calls left: ask it to exit
      for (const controlDir of controlDirs)
        for (const socket of fs.existsSync(controlDir) ? fs.readdirSync(controlDir) : []) {
          if (!fs.statSync(path.join(controlDir, socket)).isSocket()) continue;
          try {
            execFileSync(
              'ssh',
              ['-F', config, '-o', `ControlPath=${path.join(controlDir, socket)}`, '-O', 'exit', 'x'],
              {
                stdio: 'ignore',
                timeout: 10_000,
              },
            );
          } catch {
            // already gone
          }
        }
      for (const host of Object.values(fleet.hosts)) await host.stop();
    },
  };
  for (const name of names) {
    const hostDir = path.join(dir, name);
    for (const sub of ['home', 'tmp', 'state', 'bin']) fs.mkdirSync(path.join(hostDir, sub), { recursive: true });
    fs.writeFileSync(
      path.join(hostDir, 'bin', 'dx-runner'),
      `#!/bin/sh\nexec "${process.execPath}" "${CLI_BIN}" "$@"\n`,
      { mode: 0o755 },
    );
    const hostPublicKey = keygen(path.join(hostDir, 'host_key'));
    const env = hostEnvironment(hostDir, hostEnv(name, hostDir));
    const options = Object.entries(env)
      .map(([k, v]) => `environment="${k}=${v}"`)
      .join(',');
    fs.writeFileSync(path.join(hostDir, 'authorized_keys'), `${options} ${clientPub}\n`, { mode: 0o600 });
    fs.appendFileSync(knownHosts, `${name} ${hostPublicKey.split(' ').slice(0, 2).join(' ')}\n`);
    const spawnSshd = async (port: number): Promise<ChildProcess> => {
      fs.writeFileSync(path.join(hostDir, 'sshd_config'), sshdConfig(hostDir, port));
      const sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(hostDir, 'sshd_config')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let log = '';
      sshd.stderr?.on('data', (d: Buffer) => (log += d.toString()));
      try {
        await waitForPort(port, sshd);
      } catch (err) {
        sshd.kill('SIGKILL');
        throw new Error(`${String(err)}: ${log}`, { cause: err });
      }
      return sshd;
    };
    let started: { port: number; sshd: ChildProcess } | undefined;
    for (let attempt = 0; !started; attempt++) {
      const port = await freePort();
      try {
        started = { port, sshd: await spawnSshd(port) };
      } catch (err) {
        if (attempt === 2) throw err;
      }
    }
    const host: SshHost = {
      name,
      port: started.port,
      dir: hostDir,
      state: path.join(hostDir, 'state'),
      home: path.join(hostDir, 'home'),
      hostPublicKey,
      process: started.sshd,
      async stop() {
        const sshd = host.process;
        if (sshd.exitCode !== null || sshd.signalCode !== null) return;
        const exited = new Promise((r) => sshd.once('exit', r));
        sshd.kill('SIGTERM');
        await exited;
      },
      async start() {
        await host.stop();
        host.process = await spawnSshd(host.port);
      },
    };
    fleet.hosts[name] = host;
    fleet.alias(name, host);
  }
  return fleet;
}

/**
 * A dx-runner command for `host` whose clock is `offset` off this machine's (e.g. `-30s`,
 * libfaketime): the host's dx-runner, its watchers and agents all read that clock, as on a host
 * that does not sync time. Name it as the host's `dx_runner` in the policy.
 */
export function skewedDxRunner(fleet: SshFleet, host: string, offset: string): string {
  const wrapper = path.join(fleet.dir, `${host}${offset}-dx-runner`);
  const env = Object.entries(skewedClockEnv(offset))
    .map(([k, v]) => `${k}='${v}'`)
    .join(' ');
  fs.writeFileSync(wrapper, `#!/bin/sh\n${env} exec '${path.join(fleet.hosts[host].dir, 'bin', 'dx-runner')}' "$@"\n`, {
    mode: 0o755,
  });
  return wrapper;
}
