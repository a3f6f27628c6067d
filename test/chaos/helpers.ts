import { spawnSync } from 'node:child_process';

/**
 * argv prefix that runs a command as pid 1 of a private pid namespace with its own /proc, in a
 * session and process group of its own, so a test that signals by a pid read from a file (even
 * a broken build signalling pid 0 or -1) can only ever reach the namespace's processes. As root
 * (CI) a plain pid namespace; otherwise inside a user namespace mapped to root.
 */
export function pidNamespace(): string[] {
  const base = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];
  const asRoot = process.getuid?.() === 0;
  const argv = [...(asRoot ? base : ['unshare', '--user', '--map-root-user', ...base.slice(1)]), 'setsid'];
  const probe = spawnSync(argv[0], [...argv.slice(1), 'true'], { encoding: 'utf8' });
  if (probe.status !== 0)
    throw new Error(
      `cannot create a private pid namespace (${argv.join(' ')}): ${probe.stderr.trim() || probe.error?.message}`,
    );
  return argv;
}
