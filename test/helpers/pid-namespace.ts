import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import type { z } from 'zod';
import { pidNamespace } from '../chaos/helpers.js';
import { CLI_BIN, REPO_ROOT } from './paths.js';
import { withJson, type CliResult, type Sandbox } from './sandbox.js';

const SESSION = path.join(REPO_ROOT, 'test', 'fixtures', 'pid-namespace-session.mjs');

/**
 * A sandbox's dx-runner run inside a private pid namespace for the length of a test, for tests
 * that signal a pid a command reported: its watchers and agents live in the namespace, the pids
 * its records and outputs carry are the namespace's, and `signal`/`exists` act inside it. Every
 * command of such a test must go through it (a pid means another process outside). `close` ends
 * everything left in the namespace.
 */
export interface PidNamespace {
  dx(
    args: string[],
    options?: {
      env?: Record<string, string | undefined>;
      timeoutMs?: number;
      /** Told the command's pid (in the namespace) as soon as it runs. */
      onSpawn?: (pid: number) => void;
    },
  ): Promise<CliResult>;
  dxJson<S extends z.ZodType>(
    args: string[],
    schema: S,
    options?: { env?: Record<string, string | undefined> },
  ): Promise<CliResult & { json: z.output<S> }>;
  signal(pid: number, signal: NodeJS.Signals): Promise<void>;
  /** Signal the process group `pid` leads. */
  signalGroup(pid: number, signal: NodeJS.Signals): Promise<void>;
  exists(pid: number): Promise<boolean>;
  close(): Promise<void>;
}

export function openPidNamespace(sb: Sandbox): PidNamespace {
  const ns = pidNamespace();
  const session: ChildProcess = spawn(ns[0], [...ns.slice(1), process.execPath, SESSION], {
    env: sb.env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const waiting = new Map<number, (answer: Record<string, unknown>) => void>();
  const spawnListeners = new Map<number, (pid: number) => void>();
  readline.createInterface({ input: session.stdout! }).on('line', (line) => {
    const answer = JSON.parse(line) as Record<string, unknown> & { id: number };
    if (typeof answer.spawned === 'number') return spawnListeners.get(answer.id)?.(answer.spawned);
    spawnListeners.delete(answer.id);
    waiting.get(answer.id)?.(answer);
    waiting.delete(answer.id);
  });
  const closed = new Promise<void>((resolve) => session.once('close', () => resolve()));
  let next = 0;
  const ask = (request: Record<string, unknown>, onSpawn?: (pid: number) => void) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      if (session.exitCode !== null) return reject(new Error('the pid namespace session has ended'));
      const id = ++next;
      waiting.set(id, resolve);
      if (onSpawn) spawnListeners.set(id, onSpawn);
      session.stdin!.write(`${JSON.stringify({ ...request, id })}\n`);
    });
  const self: PidNamespace = {
    async dx(args, options = {}) {
      const env = Object.fromEntries(
        Object.entries({ ...sb.env, ...options.env }).filter(([, v]) => v !== undefined),
      ) as Record<string, string>;
      const answer = await ask(
        {
          op: 'run',
          argv: [process.execPath, CLI_BIN, ...args],
          env,
          cwd: sb.dir,
          timeoutMs: options.timeoutMs ?? 60_000,
          announce: options.onSpawn !== undefined,
        },
        options.onSpawn,
      );
      return { code: answer.code as number, stdout: answer.stdout as string, stderr: answer.stderr as string };
    },
    async dxJson(args, schema, options = {}) {
      return withJson(await self.dx([...args, '--json'], options), schema);
    },
    async signal(pid, signal) {
      const answer = await ask({ op: 'signal', pid, signal });
      if (typeof answer.error === 'string') throw new Error(`pid ${pid}: ${answer.error}`);
    },
    async signalGroup(pid, signal) {
      const answer = await ask({ op: 'signal', pid, signal, group: true });
      if (typeof answer.error === 'string') throw new Error(`group ${pid}: ${answer.error}`);
    },
    async exists(pid) {
      return (await ask({ op: 'exists', pid })).exists === true;
    },
    async close() {
      session.stdin!.end();
      await closed;
    },
  };
  return self;
}
