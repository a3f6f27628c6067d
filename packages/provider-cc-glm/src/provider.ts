/**
 * cc-glm: Claude Code headless (`claude -p … --output-format stream-json --verbose`) pointed at
 * Z.ai's Anthropic-compatible endpoint, with the original cc-glm configuration names.
 */
import type {
  CoreServices,
  LaunchRequest,
  LaunchSpec,
  PreflightCheck,
  PreflightContext,
  Provider,
  ProviderPreflight,
} from '@dx/core';
import { resolveToken } from './auth.js';
import { FAILURE_VOCABULARY, provider as runtime, PROVIDER_ID } from './runtime.js';

export const DEFAULT_BASE_URL = 'https://api.z.ai/api/anthropic';
const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_TOOLS = ['Bash', 'Edit', 'MultiEdit', 'Write', 'Read', 'Glob', 'Grep', 'LS', 'NotebookEdit', 'TodoWrite'];
/** Prompts longer than this go to the CLI on stdin instead of argv (a single argv string is capped at 128 KiB). */

interface CcGlmOptions {
  permissionMode: string;
  allowedTools: string[];
}

function optionsOf(policy: LaunchRequest['policy']): CcGlmOptions {
  const o = policy?.options ?? {};
  return {
    permissionMode: typeof o.permission_mode === 'string' ? o.permission_mode : 'acceptEdits',
    allowedTools: Array.isArray(o.allowed_tools) ? o.allowed_tools.map(String) : DEFAULT_TOOLS,
  };
}

function binaryName(env: NodeJS.ProcessEnv): string {
  return env.CLAUDE_BIN?.trim() || 'claude';
}

/** The env Claude Code needs to talk to Z.ai, with the token and model of this job and nothing of ~/.claude. */
function claudeEnv(
  base: Record<string, string | undefined>,
  p: {
    token: string;
    model: string;
    configDir: string;
    maxRetries: number;
    env: NodeJS.ProcessEnv;
    permissionMode: string;
  },
): Record<string, string | undefined> {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return {
    ...base,
    ANTHROPIC_BASE_URL: p.env.CC_GLM_BASE_URL?.trim() || DEFAULT_BASE_URL,
    ANTHROPIC_AUTH_TOKEN: p.token,
    ANTHROPIC_API_KEY: undefined,
    ANTHROPIC_MODEL: p.model,
    ANTHROPIC_DEFAULT_OPUS_MODEL: p.model,
    ANTHROPIC_DEFAULT_SONNET_MODEL: p.model,
    ANTHROPIC_DEFAULT_HAIKU_MODEL: p.model,
    ANTHROPIC_SMALL_FAST_MODEL: p.model,
    CLAUDE_CODE_SUBAGENT_MODEL: p.model,
    CLAUDE_CONFIG_DIR: p.configDir,
    CLAUDE_CODE_MAX_RETRIES: p.env.CLAUDE_CODE_MAX_RETRIES ?? String(p.maxRetries),
    API_TIMEOUT_MS: p.env.CC_GLM_TIMEOUT_MS?.trim() || String(DEFAULT_TIMEOUT_MS),
    DISABLE_AUTOUPDATER: '1',
    DISABLE_TELEMETRY: '1',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    // root may only bypass permissions with the documented remedy
    IS_SANDBOX: p.permissionMode === 'bypassPermissions' && isRoot ? '1' : p.env.IS_SANDBOX,
    // the token reaches the child as ANTHROPIC_AUTH_TOKEN only
    CC_GLM_AUTH_TOKEN: undefined,
    ZAI_API_KEY: undefined,
  };
}

function permissionArgs(o: CcGlmOptions): string[] {
  const args = ['--permission-mode', o.permissionMode];
  if (o.permissionMode !== 'bypassPermissions' && o.allowedTools.length > 0)
    args.push('--allowedTools', o.allowedTools.join(' '));
  return args;
}

export function createCcGlmProvider(services: CoreServices): Provider {
  const { kit } = services;

  /** Checks run the CLI with a scratch HOME: even `--version` may write into ~ (never the user's). */
  function scratchEnv(ctx: PreflightContext, extra: Record<string, string | undefined> = {}): Record<string, string> {
    return services.childEnv(
      {
        beads: 'preflight',
        prompt: '',
        promptFile: '',
        worktree: ctx.workDir,
        jobHome: ctx.workDir,
        jobTmp: ctx.workDir,
        env: ctx.env,
      },
      { CLAUDE_CONFIG_DIR: `${ctx.workDir}/.claude`, ...extra },
    );
  }

  function binaryCheck(ctx: PreflightContext) {
    return services.checkBinary({
      name: binaryName(ctx.env),
      env: ctx.env,
      runEnv: scratchEnv(ctx),
      timeoutMs: ctx.timeoutMs,
      installHint: 'npm install -g @anthropic-ai/claude-code@2.1.197',
      reasonCode: 'cc_glm_binary_missing',
    });
  }

  const provider: Provider = {
    ...runtime,
    id: PROVIDER_ID,
    displayName: 'Claude Code on Z.ai GLM (cc-glm)',
    runtimeModule: new URL('./runtime.js', import.meta.url).href,

    buildLaunch(request: LaunchRequest): LaunchSpec {
      const auth = resolveToken(request.env, services.readOperatorFile);
      // A missing token is reported by the CLI itself ("Not logged in") and classified auth_missing;
      // launching anyway keeps one failure path for every credential problem.
      const token = auth.token ?? '';
      const model = request.model || 'glm-5';
      const options = optionsOf(request.policy);
      const maxRetries = request.policy?.max_retries ?? 3;
      const env = services.childEnv(
        request,
        claudeEnv(
          {},
          {
            token,
            model,
            configDir: `${request.jobHome}/.claude`,
            maxRetries,
            env: request.env,
            permissionMode: options.permissionMode,
          },
        ),
      );
      return {
        command: services.findExecutable(binaryName(request.env), request.env) ?? binaryName(request.env),
        // `claude -p` with no prompt argument reads it from stdin: the prompt never appears in argv
        args: ['-p', '--output-format', 'stream-json', '--verbose', '--model', model, ...permissionArgs(options)],
        env,
        cwd: request.worktree,
        stdinFile: request.promptFile,
        secretEnvNames: ['ANTHROPIC_AUTH_TOKEN'],
        secretValues: token ? [token] : [],
        selectedModel: model,
        fallbackReason: 'none',
        runtimeOptions: { maxRetries },
      };
    },

    async preflight(ctx: PreflightContext): Promise<ProviderPreflight> {
      const checks: PreflightCheck[] = [];
      const bin = await binaryCheck(ctx);
      checks.push(bin.check);
      const auth = resolveToken(ctx.env, services.readOperatorFile);
      if (!auth.token) {
        checks.push({
          name: 'credentials',
          status: 'fail',
          detail: auth.problem ?? 'no token',
          reasonCode: 'cc_glm_auth_missing',
          failureClass: 'auth_missing',
        });
      } else if (bin.path) {
        const env = scratchEnv(
          ctx,
          claudeEnv(
            {},
            {
              token: auth.token,
              model: ctx.model || 'glm-5',
              configDir: `${ctx.workDir}/.claude`,
              maxRetries: 0,
              env: ctx.env,
              permissionMode: 'default',
            },
          ),
        );
        const r = await services.runTool(bin.path, ['auth', 'status', '--json'], {
          env,
          timeoutMs: ctx.timeoutMs,
          cwd: ctx.workDir,
        });
        const status = kit.parseJson(r.stdout) as { loggedIn?: boolean; authMethod?: string } | undefined;
        checks.push(
          status?.loggedIn
            ? {
                name: 'credentials',
                status: 'ok',
                detail: `token from ${auth.source} (claude auth status: ${status.authMethod})`,
              }
            : {
                name: 'credentials',
                status: 'fail',
                detail: `claude auth status does not accept the token from ${auth.source}`,
                reasonCode: 'cc_glm_auth_missing',
                failureClass: 'auth_missing',
              },
        );
      } else {
        checks.push({ name: 'credentials', status: 'ok', detail: `token from ${auth.source}` });
      }
      checks.push({
        name: 'model',
        status: 'ok',
        detail: `${ctx.model || 'glm-5'} is allowed by the policy (run probe to test availability)`,
      });
      checks.push({ name: 'endpoint', status: 'ok', detail: ctx.env.CC_GLM_BASE_URL?.trim() || DEFAULT_BASE_URL });
      return {
        ok: checks.every((c) => c.status !== 'fail'),
        binary: { path: bin.path, version: bin.version },
        model: ctx.model || 'glm-5',
        checks,
      };
    },

    async probeModel(ctx: PreflightContext): Promise<ProviderPreflight> {
      const bin = await binaryCheck(ctx);
      const auth = resolveToken(ctx.env, services.readOperatorFile);
      const model = ctx.model || 'glm-5';
      if (!bin.path || !auth.token) {
        const check: PreflightCheck = bin.path
          ? {
              name: 'probe',
              status: 'fail',
              detail: auth.problem ?? 'no token',
              reasonCode: 'cc_glm_auth_missing',
              failureClass: 'auth_missing',
            }
          : bin.check;
        return { ok: false, binary: { path: bin.path, version: bin.version }, model, checks: [check] };
      }
      const env = scratchEnv(
        ctx,
        claudeEnv(
          {},
          {
            token: auth.token,
            model,
            configDir: `${ctx.workDir}/.claude`,
            maxRetries: 0,
            env: { ...ctx.env, CC_GLM_TIMEOUT_MS: String(Math.min(ctx.timeoutMs, 30_000)) },
            permissionMode: 'default',
          },
        ),
      );
      return services.runModelProbe({
        binary: { path: bin.path, version: bin.version },
        model,
        args: [
          '-p',
          'Reply with the single word READY.',
          '--output-format',
          'stream-json',
          '--verbose',
          '--model',
          model,
        ],
        env,
        cwd: ctx.workDir,
        timeoutMs: ctx.timeoutMs,
        runtime,
        vocabulary: FAILURE_VOCABULARY,
      });
    },
  };
  return provider;
}
