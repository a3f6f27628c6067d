/**
 * Gemini CLI headless: `gemini -o stream-json -m <model> --skip-trust --approval-mode auto_edit
 * < prompt` (the prompt on stdin, never in argv), with its own settings (auth type, bounded attempts) in a private
 * GEMINI_CLI_HOME per job.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  CoreServices,
  LaunchRequest,
  LaunchSpec,
  PreflightCheck,
  PreflightContext,
  Provider,
  ProviderPreflight,
} from '@dx/core';
import { FAILURE_VOCABULARY, provider as runtime, PROVIDER_ID } from './runtime.js';

function binaryName(env: NodeJS.ProcessEnv): string {
  return env.GEMINI_BIN?.trim() || 'gemini';
}

/** The auth method the job's settings select; undefined when no credentials are configured. */
export function authType(env: NodeJS.ProcessEnv): 'gemini-api-key' | 'vertex-ai' | undefined {
  if (env.GEMINI_API_KEY?.trim() || env.GOOGLE_API_KEY?.trim()) return 'gemini-api-key';
  if (/^(1|true)$/i.test(env.GOOGLE_GENAI_USE_VERTEXAI ?? '') && (env.GOOGLE_CLOUD_PROJECT || env.GOOGLE_API_KEY))
    return 'vertex-ai';
  return undefined;
}

/**
 * settings.json for the job: without selectedType a headless run stops at "Please set an Auth method".
 * Usage statistics are off: Gemini CLI sends them to play.googleapis.com unless told not to, and the
 * private home hides the operator's own choice (`privacy.usageStatisticsEnabled` in ~/.gemini).
 */
function settings(env: NodeJS.ProcessEnv, maxAttempts: number): string {
  const jobSettings = {
    security: { auth: { selectedType: authType(env) ?? 'gemini-api-key' } },
    general: { maxAttempts },
    privacy: { usageStatisticsEnabled: false },
  };
  return `${JSON.stringify(jobSettings, null, 2)}\n`;
}

function geminiEnv(services: CoreServices, request: LaunchRequest): Record<string, string> {
  return services.childEnv(request, {
    GEMINI_CLI_HOME: request.jobHome,
    // one process per job: the re-launched child would double memory and process count
    GEMINI_CLI_NO_RELAUNCH: 'true',
  });
}

export function createGeminiProvider(services: CoreServices): Provider {
  /** Even `gemini --version` writes ~/.gemini, so every check runs with the scratch dir as home. */
  async function binaryCheck(ctx: PreflightContext) {
    const scratch: LaunchRequest = {
      beads: 'preflight',
      prompt: '',
      promptFile: '',
      worktree: ctx.workDir,
      jobHome: ctx.workDir,
      jobTmp: ctx.workDir,
      env: ctx.env,
    };
    const env = geminiEnv(services, scratch);
    return services.checkBinary({
      name: binaryName(ctx.env),
      env: ctx.env,
      runEnv: env,
      timeoutMs: ctx.timeoutMs,
      installHint: 'npm install -g @google/gemini-cli@0.61.0',
      reasonCode: 'gemini_binary_missing',
    });
  }

  function credentialsCheck(env: NodeJS.ProcessEnv): PreflightCheck {
    const type = authType(env);
    return type
      ? {
          name: 'credentials',
          status: 'ok',
          detail: `${type} (${env.GEMINI_API_KEY ? 'GEMINI_API_KEY' : env.GOOGLE_API_KEY ? 'GOOGLE_API_KEY' : 'Vertex AI'})`,
        }
      : {
          name: 'credentials',
          status: 'fail',
          detail: 'no Gemini credentials: set GEMINI_API_KEY (or GOOGLE_API_KEY)',
          reasonCode: 'gemini_auth_missing',
          failureClass: 'auth_missing',
        };
  }

  const provider: Provider = {
    ...runtime,
    id: PROVIDER_ID,
    displayName: 'Gemini CLI',
    runtimeModule: new URL('./runtime.js', import.meta.url).href,

    buildLaunch(request: LaunchRequest): LaunchSpec {
      const model = request.model || 'gemini-3-flash-preview';
      const options = request.policy?.options ?? {};
      const approval = typeof options.approval_mode === 'string' ? options.approval_mode : 'auto_edit';
      const maxRetries = request.policy?.max_retries ?? 2;
      return {
        command: services.findExecutable(binaryName(request.env), request.env) ?? binaryName(request.env),
        // without -p and with stdin not a terminal, Gemini runs headless on the prompt it reads from
        // stdin: the prompt never appears in argv
        args: ['-o', 'stream-json', '-m', model, '--skip-trust', '--approval-mode', approval],
        env: geminiEnv(services, request),
        cwd: request.worktree,
        stdinFile: request.promptFile,
        files: [
          {
            path: path.join(request.jobHome, '.gemini', 'settings.json'),
            content: settings(request.env, maxRetries + 1),
          },
        ],
        selectedModel: model,
        fallbackReason: 'none',
        runtimeOptions: { maxRetries },
      };
    },

    async preflight(ctx: PreflightContext): Promise<ProviderPreflight> {
      const bin = await binaryCheck(ctx);
      const checks = [
        bin.check,
        credentialsCheck(ctx.env),
        {
          name: 'model',
          status: 'ok',
          detail: `${ctx.model} is allowed by the policy (run probe to test availability)`,
        } as PreflightCheck,
      ];
      return {
        ok: checks.every((c) => c.status !== 'fail'),
        binary: { path: bin.path, version: bin.version },
        model: ctx.model,
        checks,
      };
    },

    async probeModel(ctx: PreflightContext): Promise<ProviderPreflight> {
      const bin = await binaryCheck(ctx);
      const creds = credentialsCheck(ctx.env);
      if (!bin.path || bin.check.status === 'fail' || creds.status === 'fail') {
        return {
          ok: false,
          binary: { path: bin.path, version: bin.version },
          model: ctx.model,
          checks: [bin.check.status === 'fail' ? bin.check : creds],
        };
      }
      fs.mkdirSync(path.join(ctx.workDir, '.gemini'), { recursive: true, mode: 0o700 });
      fs.writeFileSync(path.join(ctx.workDir, '.gemini', 'settings.json'), settings(ctx.env, 1), { mode: 0o600 });
      const request: LaunchRequest = {
        beads: 'probe',
        prompt: '',
        promptFile: '',
        worktree: ctx.workDir,
        jobHome: ctx.workDir,
        jobTmp: ctx.workDir,
        env: ctx.env,
      };
      return services.runModelProbe({
        binary: { path: bin.path, version: bin.version },
        model: ctx.model,
        args: ['-p', 'Reply with the single word READY.', '-o', 'stream-json', '-m', ctx.model, '--skip-trust'],
        env: geminiEnv(services, request),
        cwd: ctx.workDir,
        timeoutMs: ctx.timeoutMs,
        runtime,
        vocabulary: FAILURE_VOCABULARY,
      });
    },
  };
  return provider;
}
