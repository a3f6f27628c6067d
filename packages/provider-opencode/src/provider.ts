/**
 * OpenCode headless: `opencode run -m <provider/model> --format json --dir <worktree> < prompt`
 * (the prompt on stdin, never in argv) with a private HOME/TMPDIR per job (OpenCode leaves a 5.6 MB .so in $TMPDIR on every run).
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  CoreServices,
  LaunchFile,
  LaunchRequest,
  LaunchSpec,
  PreflightCheck,
  PreflightContext,
  Provider,
  ProviderPreflight,
} from '@dx/core';
import { FAILURE_VOCABULARY, provider as runtime, PROVIDER_ID, type OpencodeRuntimeOptions } from './runtime.js';

/** Where OpenCode's built-in providers read their key (from the bundled models.dev data). */
const CREDENTIAL_ENV: Record<string, string[]> = {
  'zai-coding-plan': ['ZHIPU_API_KEY'],
  'zhipuai-coding-plan': ['ZHIPU_API_KEY'],
  zhipuai: ['ZHIPU_API_KEY'],
  zai: ['ZHIPU_API_KEY'],
};
// eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
const ANSI = /\u001b\[[0-9;]*m/g;

/**
 * OpenCode 1.18 installs `@opencode-ai/plugin` (for plugin files in its config dir) into its global
 * config dir in the background of every run, unless the dir has a `node_modules` and a lock file that
 * lists the package: in a fresh private HOME every job looked up and fetched ~20 MB of package
 * metadata from the npm registry (traffic an air-gapped or firewalled host refuses, CPU a busy host
 * lacks, for a package no job's private HOME uses). These two files make the dir look installed.
 */
function installedConfigDirFiles(env: Record<string, string>): LaunchFile[] {
  // childEnv always sets the private XDG_CONFIG_HOME, where OpenCode looks first
  const dir = path.join(env.XDG_CONFIG_HOME, 'opencode');
  return [
    {
      path: path.join(dir, 'package-lock.json'),
      content: `${JSON.stringify({ packages: { '': { dependencies: { '@opencode-ai/plugin': '*' } } } })}\n`,
    },
    {
      path: path.join(dir, 'node_modules', 'README.dx-runner'),
      content: 'Written by dx-runner: OpenCode installs nothing here in the background (see provider-opencode).\n',
    },
  ];
}

function binaryName(env: NodeJS.ProcessEnv): string {
  return env.OPENCODE_BIN?.trim() || 'opencode';
}

/**
 * The user's `opencode auth login` credentials live in their real data dir, which a job's private
 * HOME hides; they are handed over in memory (OPENCODE_AUTH_CONTENT), never copied to disk.
 */
function userAuthContent(env: NodeJS.ProcessEnv): string | undefined {
  if (env.OPENCODE_AUTH_CONTENT) return env.OPENCODE_AUTH_CONTENT;
  const dataHome = env.XDG_DATA_HOME || (env.HOME ? path.join(env.HOME, '.local', 'share') : undefined);
  if (!dataHome) return undefined;
  try {
    return fs.readFileSync(path.join(dataHome, 'opencode', 'auth.json'), 'utf8');
  } catch {
    return undefined;
  }
}

function secretsOf(authContent: string | undefined): string[] {
  if (!authContent) return [];
  const values = [authContent];
  const walk = (v: unknown) => {
    if (typeof v === 'string' && v.length >= 8) values.push(v);
    else if (v && typeof v === 'object') for (const x of Object.values(v)) walk(x);
  };
  try {
    walk(JSON.parse(authContent));
  } catch {
    // not JSON: the whole content is still redacted
  }
  return values;
}

function credentialsPresent(
  model: string,
  env: NodeJS.ProcessEnv,
  authContent: string | undefined,
): boolean | undefined {
  const prefix = model.split('/')[0] ?? '';
  if (authContent?.includes(`"${prefix}"`)) return true;
  if (env.OPENCODE_CONFIG_CONTENT?.includes(`"${prefix}"`)) return true;
  const names = CREDENTIAL_ENV[prefix];
  if (!names) return undefined;
  return names.some((n) => Boolean(env[n]));
}

function opencodeEnv(
  services: CoreServices,
  request: LaunchRequest,
  authContent: string | undefined,
): Record<string, string> {
  return services.childEnv(request, {
    OPENCODE_DISABLE_MODELS_FETCH: '1',
    OPENCODE_DISABLE_AUTOUPDATE: '1',
    OPENCODE_DISABLE_SHARE: '1',
    OPENCODE_AUTH_CONTENT: authContent,
  });
}

/** `opencode models` lines that look like provider/model ids. */
function modelIds(stdout: string): string[] {
  return stdout
    .replace(ANSI, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9][a-z0-9._-]*\/\S+$/i.test(l));
}

export function createOpencodeProvider(services: CoreServices): Provider {
  function scratchRequest(ctx: PreflightContext): LaunchRequest {
    return {
      beads: 'preflight',
      prompt: '',
      promptFile: '',
      worktree: ctx.worktree ?? ctx.workDir,
      jobHome: ctx.workDir,
      jobTmp: ctx.workDir,
      env: ctx.env,
      model: ctx.model,
    };
  }

  /** Even `opencode --version` creates ~/.config, ~/.local… so every check runs in the scratch HOME. */
  async function binaryCheck(ctx: PreflightContext) {
    const env = opencodeEnv(services, scratchRequest(ctx), undefined);
    return services.checkBinary({
      name: binaryName(ctx.env),
      env: ctx.env,
      runEnv: env,
      timeoutMs: ctx.timeoutMs,
      installHint: 'npm install -g opencode-ai@1.18.33',
      reasonCode: 'opencode_binary_missing',
    });
  }

  const provider: Provider = {
    ...runtime,
    id: PROVIDER_ID,
    displayName: 'OpenCode',
    runtimeModule: new URL('./runtime.js', import.meta.url).href,

    buildLaunch(request: LaunchRequest): LaunchSpec {
      const model = request.model;
      if (!model)
        throw new Error('opencode needs a model: set canonical_model for opencode in the policy or pass --model');
      const authContent = userAuthContent(request.env);
      const autoApprove = request.policy?.options?.auto_approve !== false;
      const runtimeOptions: OpencodeRuntimeOptions = {
        maxRetries: request.policy?.max_retries ?? 3,
        credentialsPresent: credentialsPresent(model, request.env, authContent),
      };
      const env = opencodeEnv(services, request, authContent);
      return {
        command: services.findExecutable(binaryName(request.env), request.env) ?? binaryName(request.env),
        // `opencode run` with no message argument reads the message from stdin: the prompt never appears in argv
        args: [
          'run',
          '-m',
          model,
          '--format',
          'json',
          '--dir',
          request.worktree,
          ...(autoApprove ? ['--auto'] : []),
          // the real cause of a failure (wrong key, unknown model) only appears in the logs
          '--print-logs',
          '--log-level',
          'WARN',
        ],
        env,
        cwd: request.worktree,
        stdinFile: request.promptFile,
        files: installedConfigDirFiles(env),
        secretValues: secretsOf(authContent),
        selectedModel: model,
        fallbackReason: 'none',
        runtimeOptions: { ...runtimeOptions },
      };
    },

    async preflight(ctx: PreflightContext): Promise<ProviderPreflight> {
      const checks: PreflightCheck[] = [];
      const bin = await binaryCheck(ctx);
      checks.push(bin.check);
      if (!bin.path || bin.check.status === 'fail')
        return { ok: false, binary: { path: bin.path }, model: ctx.model, checks };
      const env = opencodeEnv(services, scratchRequest(ctx), userAuthContent(ctx.env));
      const wanted = [ctx.model, ...ctx.candidates];
      const listing = await services.runTool(bin.path, ['models'], { env, timeoutMs: ctx.timeoutMs, cwd: ctx.workDir });
      const available = new Set(modelIds(listing.stdout));
      const prefix = ctx.model.split('/')[0] ?? '';
      const connected = [...available].some((m) => m.startsWith(`${prefix}/`)) || wanted.some((m) => available.has(m));
      if (!connected) {
        const probe = await services.runTool(bin.path, ['models', prefix], {
          env,
          timeoutMs: ctx.timeoutMs,
          cwd: ctx.workDir,
        });
        if (/Provider not found/i.test(probe.stderr + probe.stdout) && !wanted.some((m) => available.has(m))) {
          checks.push({
            name: 'credentials',
            status: 'fail',
            detail: `no credentials for ${prefix} (opencode models ${prefix}: Provider not found); set ${(CREDENTIAL_ENV[prefix] ?? ['its API key']).join(' or ')} or run opencode auth login`,
            reasonCode: 'opencode_auth_blocked',
            failureClass: 'auth_missing',
          });
          return { ok: false, binary: { path: bin.path, version: bin.version }, model: ctx.model, checks };
        }
      }
      checks.push({ name: 'credentials', status: 'ok', detail: `${prefix} is connected` });
      const chosen = wanted.find((m) => available.has(m));
      if (!chosen) {
        checks.push({
          name: 'model',
          status: 'fail',
          detail: `${ctx.model}${ctx.candidates.length ? ` (or ${ctx.candidates.join(', ')})` : ''} is not among the models OpenCode lists${ctx.candidates.length === 0 ? ' (strict model gate: no other model is tried)' : ''}`,
          reasonCode: 'opencode_model_unavailable',
          failureClass: 'model_unavailable',
        });
        return { ok: false, binary: { path: bin.path, version: bin.version }, model: ctx.model, checks };
      }
      checks.push({
        name: 'model',
        status: 'ok',
        detail: chosen === ctx.model ? `${chosen} available` : `${ctx.model} unavailable; using ${chosen}`,
      });
      return { ok: true, binary: { path: bin.path, version: bin.version }, model: chosen, checks };
    },

    async probeModel(ctx: PreflightContext): Promise<ProviderPreflight> {
      const bin = await binaryCheck(ctx);
      if (!bin.path || bin.check.status === 'fail')
        return { ok: false, binary: { path: bin.path }, model: ctx.model, checks: [bin.check] };
      const authContent = userAuthContent(ctx.env);
      const env = opencodeEnv(services, scratchRequest(ctx), authContent);
      for (const file of installedConfigDirFiles(env)) {
        fs.mkdirSync(path.dirname(file.path), { recursive: true });
        fs.writeFileSync(file.path, file.content);
      }
      return services.runModelProbe({
        binary: { path: bin.path, version: bin.version },
        model: ctx.model,
        args: [
          'run',
          'Reply with the single word READY.',
          '-m',
          ctx.model,
          '--format',
          'json',
          '--print-logs',
          '--log-level',
          'WARN',
        ],
        env,
        cwd: ctx.workDir,
        timeoutMs: ctx.timeoutMs,
        runtime,
        parserOptions: { maxRetries: 0, credentialsPresent: credentialsPresent(ctx.model, ctx.env, authContent) },
        vocabulary: FAILURE_VOCABULARY,
      });
    },
  };
  return provider;
}
