import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readProcessInfo } from './identity.js';
import { toolCpuSeconds } from './tool-cpu.js';

let dir: string;
let burn: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dx-tool-cpu-'));
  burn = path.join(dir, 'burn.js');
  // burns argv[2] ms of CPU (not of wall time: a loaded machine only makes it take longer), then
  // idles when argv[3] is "stay", else ends
  fs.writeFileSync(
    burn,
    `const s = process.cpuUsage();
     const used = () => { const u = process.cpuUsage(s); return (u.user + u.system) / 1000; };
     while (used() < Number(process.argv[2])) {}
     if (process.argv[3] === 'stay') setInterval(() => {}, 1000);`,
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const started: ChildProcess[] = [];
afterEach(() => {
  // the shell's own group: the agent and the tools it started
  for (const child of started.splice(0)) process.kill(-child.pid!, 'SIGKILL');
});

function start(script: string): number {
  const child = spawn('sh', ['-c', script], { stdio: 'ignore', detached: true });
  started.push(child);
  return child.pid!;
}

function ownCpuSeconds(pid: number): number {
  return (readProcessInfo(pid)?.cpuTicks ?? 0) / 100;
}

async function until(read: () => number | undefined, enough: (v: number) => boolean): Promise<number | undefined> {
  let value: number | undefined;
  for (let i = 0; i < 200; i++) {
    value = read();
    if (value !== undefined && enough(value)) return value;
    await sleep(50);
  }
  return value;
}

describe.runIf(process.platform === 'linux')('toolCpuSeconds', () => {
  it('counts what an ended child and a live grandchild used, not the agent’s own CPU', async () => {
    const node = process.execPath;
    // the "agent" (a shell) runs a tool that burns 400 ms and ends, then one under a shell of its own
    // that burns 400 ms and stays
    const agent = start(`"${node}" "${burn}" 400; sh -c '"${node}" "${burn}" 400 stay; true'`);
    const total = await until(
      () => toolCpuSeconds(agent),
      (v) => v >= 0.75,
    );
    expect(total).toBeGreaterThanOrEqual(0.75);
    expect(total).toBeLessThan(3);
  });

  it('leaves out an agent that burns CPU itself and starts nothing', async () => {
    const agent = start(`exec "${process.execPath}" "${burn}" 500 stay`);
    await until(
      () => ownCpuSeconds(agent),
      (v) => v >= 0.45,
    );
    expect(ownCpuSeconds(agent)).toBeGreaterThanOrEqual(0.45);
    expect(toolCpuSeconds(agent)).toBeLessThan(0.1);
  });

  it('is undefined for a process that does not exist', () => {
    expect(toolCpuSeconds(2 ** 22 + 7)).toBeUndefined();
  });
});
