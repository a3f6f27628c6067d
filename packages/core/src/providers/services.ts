import fs from 'node:fs';
import path from 'node:path';
import { inputFileProblem, readInputFile } from '../config/input-file.js';
import { operatorHomes } from '../jobs/agent-env.js';
import { DxError, ExitCode } from '../errors.js';
import { providerKit } from './kit.js';
import { readYamlFile } from '../policy/yaml.js';
import type { LaunchRequest } from './contract.js';
import { runTool } from '../process/run.js';
import type { BinaryCheck, BinaryCheckOptions, CoreServices } from './hook.js';
import { runModelProbe } from './probe.js';
import { runStreaming } from './streaming.js';

/**
 * The agent environment: the caller's env (agents run tests that need it) with HOME, XDG dirs and
 * TMPDIR pointed into the job's private directories, because the real CLIs write into both, and the
 * operator's homes of the tools those would hide (see jobs/agent-env).
 */
export function childEnv(
  request: LaunchRequest,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(request.env)) if (v !== undefined) env[k] = v;
  Object.assign(env, operatorHomes(request.env));
  Object.assign(env, {
    HOME: request.jobHome,
    XDG_CONFIG_HOME: `${request.jobHome}/.config`,
    XDG_DATA_HOME: `${request.jobHome}/.local/share`,
    XDG_STATE_HOME: `${request.jobHome}/.local/state`,
    XDG_CACHE_HOME: `${request.jobHome}/.cache`,
    TMPDIR: request.jobTmp,
    TMP: request.jobTmp,
    TEMP: request.jobTmp,
  });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function findExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const isExec = (p: string) => {
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return fs.statSync(p).isFile();
    } catch {
      return false;
    }
  };
  if (name.includes('/')) return isExec(name) ? path.resolve(name) : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExec(candidate)) return candidate;
  }
  return undefined;
}

export async function checkBinary(options: BinaryCheckOptions): Promise<BinaryCheck> {
  const failed = (detail: string) =>
    ({
      name: 'binary',
      status: 'fail',
      detail,
      reasonCode: options.reasonCode,
      failureClass: 'binary_missing',
    }) as const;
  const found = findExecutable(options.name, options.env);
  if (!found) return { check: failed(`${options.name} not found on PATH (${options.installHint})`) };
  const r = await runTool(found, ['--version'], { env: options.runEnv, timeoutMs: options.timeoutMs });
  if (r.exitCode !== 0)
    return {
      path: found,
      check: failed(
        `${found} --version failed: ${providerKit.firstLine(r.stderr || r.stdout || `exit ${r.exitCode}`)}`,
      ),
    };
  const version = providerKit.firstLine(r.stdout, 80);
  return { path: found, version, check: { name: 'binary', status: 'ok', detail: `${found} ${version}` } };
}

/** What each pipe named to this process gave: a second read of `/dev/fd/N` would find it drained. */
const pipesRead = new Map<string, string>();

export function readOperatorFile(file: string, maxBytes: number): { text: string } | { problem: string } {
  const kept = pipesRead.get(file);
  if (kept !== undefined) return { text: kept };
  try {
    const pipe = fs.statSync(file).isFIFO();
    const text = readInputFile(file, maxBytes);
    if (pipe) pipesRead.set(file, text);
    return { text };
  } catch (err) {
    return { problem: inputFileProblem(err) };
  }
}

export const coreServices: CoreServices = {
  runTool,
  runStreaming,
  runModelProbe,
  childEnv,
  findExecutable,
  checkBinary,
  readYamlFile,
  readOperatorFile,
  kit: providerKit,
};

export function unknownProviderError(id: string, known: string[]): DxError {
  return new DxError(
    `unknown provider "${id}" (available: ${known.length > 0 ? known.join(', ') : 'none installed'})`,
    {
      exitCode: ExitCode.providerNotFound,
      reasonCode: 'provider_not_found',
      nextAction: 'pass_one_of_the_available_providers_or_install_its_plugin',
    },
  );
}
