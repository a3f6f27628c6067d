#!/usr/bin/env node
/**
 * The simulated agent CLI: reads the prompt on stdin like the real CLIs, then performs the plan
 * the sim provider wrote for this job (argv[2]) step by step, printing one JSON event per line.
 * Recorded failures of a real CLI are printed exactly as recorded, with the recorded exit code.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Plan } from './plan.js';

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8')) as Plan;
const expand = (value: string) =>
  value
    .replaceAll('${beads}', plan.beads)
    .replaceAll('${item}', plan.item)
    .replaceAll('${attempt}', String(plan.attempt));
const emit = (event: Record<string, unknown>) =>
  new Promise<void>((resolve) => process.stdout.write(`${JSON.stringify({ sim: 1, ...event })}\n`, () => resolve()));
const writeOut = (stream: NodeJS.WriteStream, data: string) =>
  new Promise<void>((resolve) => (data ? stream.write(data, () => resolve()) : resolve()));

let prompt = '';
try {
  prompt = fs.readFileSync(0, 'utf8');
} catch {
  // no stdin: the prompt is optional for a simulation
}

async function run(): Promise<number> {
  await emit({ type: 'init', scenario: plan.scenario, pid: process.pid, prompt_bytes: Buffer.byteLength(prompt) });
  for (const step of plan.steps) {
    if (plan.paceMs > 0) await sleep(plan.paceMs);
    if ('message' in step) await emit({ type: 'message', text: expand(step.message) });
    else if ('tool' in step) await emit({ type: 'tool_use', tool: step.tool, detail: step.detail });
    else if ('write' in step) {
      const file = path.resolve(expand(step.write));
      // the simulated agent stays in its worktree, whatever a header or variable expanded to
      if (path.relative(process.cwd(), file).startsWith('..') || path.isAbsolute(path.relative(process.cwd(), file))) {
        await writeOut(process.stderr, `refusing to write outside the worktree: ${file}\n`);
        return 1;
      }
      await emit({ type: 'tool_use', tool: 'write', detail: path.relative(process.cwd(), file) });
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, expand(step.content ?? `written by the dx-runner simulator for ${plan.beads}\n`));
    } else if ('commit' in step) {
      await emit({ type: 'tool_use', tool: 'bash', detail: 'git commit' });
      try {
        const git = (...args: string[]) =>
          execFileSync('git', ['-c', 'user.name=dx-runner simulator', '-c', 'user.email=sim@localhost', ...args], {
            stdio: 'pipe',
          });
        git('add', '-A');
        git('commit', '-q', '-m', expand(step.commit));
      } catch (err) {
        // like a real agent whose tool call failed: say why on stderr and stop
        const e = err as { stdout?: Buffer; stderr?: Buffer; message: string };
        const why = `${e.stdout?.toString() ?? ''}${e.stderr?.toString() ?? ''}`.trim().split('\n')[0] || e.message;
        await writeOut(process.stderr, `git commit failed: ${why}\n`);
        return 1;
      }
    } else if ('usage' in step)
      await emit({ type: 'usage', input: step.usage.input, output: step.usage.output, cost: step.usage.cost });
    else if ('retry' in step)
      await emit({ type: 'retry', class: step.retry.class, retry_after: step.retry.retry_after_sec });
    else if ('silent_sec' in step) await sleep(step.silent_sec * 1000);
    else if ('result' in step) await emit({ type: 'result', ok: step.ok ?? true, text: expand(step.result) });
    else if ('stderr' in step) await writeOut(process.stderr, `${expand(step.stderr)}\n`);
    else if ('replay' in step) {
      await writeOut(process.stderr, fs.readFileSync(step.replay.stderr, 'utf8'));
      await writeOut(process.stdout, fs.readFileSync(step.replay.stdout, 'utf8'));
      return Number(fs.readFileSync(step.replay.rc, 'utf8').trim()) || 0;
    } else if ('hang' in step) {
      // alive and silent until dx-runner ends it
      setInterval(() => undefined, 1 << 30);
      await new Promise(() => undefined);
    } else if ('crash' in step) process.kill(process.pid, step.crash);
    else if ('exit' in step) return step.exit;
  }
  return 0;
}

process.exitCode = await run();
