import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { chromium, type Browser } from 'playwright-core';
import { CLI_BIN, REPO_ROOT } from './paths.js';

/** Debian's chromium (installed by .ci/run with apt); DX_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env.DX_CHROMIUM ?? '/usr/bin/chromium';
export const hasChromium = () => fs.existsSync(CHROMIUM);

/** Where the browser tests leave a screenshot of each view for a person to look at (git-ignored). */
export const SCREENSHOTS = path.join(REPO_ROOT, 'test', '.screenshots');

export interface DashboardProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  url: string;
  port: number;
  stdout: string[];
  stderr: string[];
  stop(): Promise<void>;
}

/** `dx-runner dashboard ARGS` as a child of the test; resolves once it prints that it listens. */
export async function startDashboardProcess(args: string[], env: Record<string, string>): Promise<DashboardProcess> {
  const child = spawn(process.execPath, [CLI_BIN, 'dashboard', '--port', '0', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const listening = new Promise<{ url: string; port: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`dashboard did not listen in 30 s: ${stderr.join('')}`)), 30_000);
    let buffer = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) {
        stdout.push(line);
        const json = line.startsWith('{') ? (JSON.parse(line) as { url?: string; port?: number }) : undefined;
        const human = /^dashboard: (http:\/\/\S+)/.exec(line)?.[1];
        const url = json?.url ?? human;
        if (url) {
          clearTimeout(timer);
          resolve({ url, port: Number(new URL(url).port) });
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`dashboard exited ${code}: ${stderr.join('')}`));
    });
  });
  const { url, port } = await listening;
  return {
    child,
    url,
    port,
    stdout,
    stderr,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function launchBrowser(tmp: string): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    // root in a container has no user namespace sandbox for Chromium
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
    env: { HOME: tmp, TMPDIR: tmp, PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
}
