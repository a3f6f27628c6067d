import { loadPolicy } from '@dx/core';
import { parseLegacyArgv, stringFlag, type FlagArity, type ParsedArgv } from '../forward/argv.js';
import {
  deprecation,
  explainIgnored,
  reportError,
  runDxRunner,
  usageError,
  worktreeForRepo,
} from '../forward/forward.js';

const TOOL = 'cc-glm-job';

export const USAGE = `Usage: cc-glm-job <command> [flags]      (compatibility entry point: every command runs dx-runner)

  start --beads ID --prompt-file P [--repo R] [--worktree W] [--model M] [--required-baseline SHA] [--dry-run]
  status [--beads ID] [--mutations]          check --beads ID [--stall-minutes N]
  health [--beads ID]                        restart --beads ID [--preserve-contract]
  stop --beads ID                            tail --beads ID [--lines N]
  preflight                                  watchdog [--interval S] [--stall-minutes N] [--max-retries N] [--once] [--observe-only]
  baseline-gate [--beads ID | --worktree W] --required-baseline SHA
  integrity-gate [--beads ID | --worktree W] [--reported-commit SHA] [--base SHA]
  feature-key-gate [--beads ID | --worktree W] [--feature-key ID] [--base SHA] [--base-branch B]
Every command takes --json, and --host NAME (a host of the policy's fleet.hosts; watchdog excepted). Jobs run with dx-runner's cc-glm provider (CC_GLM_AUTH_TOKEN, CC_GLM_TOKEN_FILE,
ZAI_API_KEY, CC_GLM_BASE_URL, CC_GLM_MODEL, CC_GLM_TIMEOUT_MS keep their meaning) and live in dx-runner's
state, so dx-runner sees and controls them. Accepted and explained, with no counterpart: --log-dir, --pty,
--no-ansi, set-override. Exit codes are dx-runner's. DX_DISPATCH_NO_DEPRECATION=1 silences the [DEPRECATION] line.`;

type Ignored = Array<{ flag: string; why: string }>;
type Built = { args: string[]; ignored: Ignored } | { error: string };

interface CommandSpec {
  flags: Record<string, FlagArity>;
  required?: string[];
  build(p: ParsedArgv, provider: string, env: NodeJS.ProcessEnv): Built;
}

/** Flags passed through under the same name. */
function pass(p: ParsedArgv, names: string[]): string[] {
  const out: string[] = [];
  for (const name of names) {
    const v = p.flags.get(name);
    if (v === true) out.push(name);
    else if (typeof v === 'string') out.push(name, v);
  }
  return out;
}

const beadsOpt: Record<string, FlagArity> = { '--beads': 'value' };
const gateFlags = { ...beadsOpt, '--worktree': 'value' } as const;

const COMMANDS: Record<string, CommandSpec> = {
  start: {
    flags: {
      ...beadsOpt,
      '--prompt-file': 'value',
      '--repo': 'value',
      '--worktree': 'value',
      '--model': 'value',
      '--required-baseline': 'value',
      '--dry-run': 'none',
      '--log-dir': 'value',
      '--pty': 'none',
    },
    required: ['--beads', '--prompt-file'],
    build(p, provider, env) {
      const ignored: Ignored = [];
      if (p.flags.has('--log-dir'))
        ignored.push({ flag: '--log-dir', why: 'dx-runner keeps the log in its state dir: dx-runner logs --beads' });
      if (p.flags.has('--pty'))
        ignored.push({ flag: '--pty', why: 'agents run headless with stdin closed; no pseudo-terminal' });
      const args = [
        'start',
        '--provider',
        provider,
        ...pass(p, ['--beads', '--prompt-file', '--worktree', '--model', '--required-baseline', '--dry-run']),
      ];
      const repo = stringFlag(p, '--repo');
      if (repo && !p.flags.has('--worktree')) {
        const policy = loadPolicy({ env });
        const wt = worktreeForRepo(repo, stringFlag(p, '--beads')!, policy, env);
        if (wt) args.push('--worktree', wt);
        else
          ignored.push({
            flag: `--repo ${repo}`,
            why: 'no worktree found for it; dx-runner uses its default worktree',
          });
      }
      return { args, ignored };
    },
  },
  status: {
    flags: { ...beadsOpt, '--mutations': 'none', '--recent': 'value' },
    // --mutations is what dx-runner status always shows (the changes column; changed files under --json)
    build: (p) => ({ args: ['status', ...pass(p, ['--beads', '--recent'])], ignored: [] }),
  },
  check: {
    flags: { ...beadsOpt, '--stall-minutes': 'value' },
    required: ['--beads'],
    build: (p) => ({ args: ['check', ...pass(p, ['--beads', '--stall-minutes'])], ignored: [] }),
  },
  health: {
    flags: { ...beadsOpt, '--stall-minutes': 'value' },
    build: (p) => ({
      args: p.flags.has('--beads')
        ? ['check', ...pass(p, ['--beads', '--stall-minutes'])]
        : ['status', ...pass(p, ['--stall-minutes'])],
      ignored: [],
    }),
  },
  restart: {
    flags: { ...beadsOpt, '--preserve-contract': 'none' },
    required: ['--beads'],
    // --preserve-contract is dx-runner's behaviour: restart keeps the job's metadata and private prompt copy
    build: (p) => ({ args: ['restart', ...pass(p, ['--beads'])], ignored: [] }),
  },
  stop: {
    flags: beadsOpt,
    required: ['--beads'],
    build: (p) => ({ args: ['stop', ...pass(p, ['--beads'])], ignored: [] }),
  },
  tail: {
    flags: { ...beadsOpt, '--lines': 'value' },
    required: ['--beads'],
    build: (p) => ({ args: ['logs', ...pass(p, ['--beads', '--lines'])], ignored: [] }),
  },
  preflight: { flags: {}, build: (_p, provider) => ({ args: ['preflight', '--provider', provider], ignored: [] }) },
  watchdog: {
    flags: {
      '--interval': 'value',
      '--stall-minutes': 'value',
      '--max-retries': 'value',
      '--once': 'none',
      '--observe-only': 'none',
    },
    build(p) {
      if (p.flags.has('--observe-only')) {
        // observing is what status does: every job's health, nothing restarted
        const ignored = ['--interval', '--max-retries', '--once']
          .filter((f) => p.flags.has(f))
          .map((flag) => ({ flag, why: 'no effect with --observe-only' }));
        return { args: ['status', ...pass(p, ['--stall-minutes'])], ignored };
      }
      return {
        args: ['watchdog', ...pass(p, ['--interval', '--stall-minutes', '--max-retries', '--once'])],
        ignored: [],
      };
    },
  },
  'baseline-gate': {
    flags: { ...gateFlags, '--required-baseline': 'value' },
    required: ['--required-baseline'],
    build: (p) => ({
      args: ['baseline-gate', ...pass(p, ['--beads', '--worktree', '--required-baseline'])],
      ignored: [],
    }),
  },
  'integrity-gate': {
    flags: { ...gateFlags, '--reported-commit': 'value', '--base': 'value' },
    build: (p) => ({
      args: ['integrity-gate', ...pass(p, ['--beads', '--worktree', '--reported-commit', '--base'])],
      ignored: [],
    }),
  },
  'feature-key-gate': {
    flags: { ...gateFlags, '--feature-key': 'value', '--base': 'value', '--base-branch': 'value' },
    build: (p) => ({
      args: ['feature-key-gate', ...pass(p, ['--beads', '--worktree', '--feature-key', '--base', '--base-branch'])],
      ignored: [],
    }),
  },
};

const GLOBAL: Record<string, FlagArity> = {
  '--json': 'none',
  '--no-ansi': 'none',
  '--help': 'none',
  '--host': 'value',
};

export async function runCcGlmJob(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    if (!command) return usageError(TOOL, 'a command is required');
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command === 'set-override') {
    explainIgnored(TOOL, [
      {
        flag: 'set-override',
        why: 'overrides live in the environment (CC_GLM_MODEL, CC_GLM_BASE_URL) or a dx-runner profile; nothing was changed',
      },
    ]);
    return 0;
  }
  const spec = COMMANDS[command];
  if (!spec) return usageError(TOOL, `unknown command "${command}"`);
  const p = parseLegacyArgv(rest, { ...GLOBAL, ...spec.flags }, { '-h': '--help' });
  if (p.flags.has('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (p.unknown.length > 0) return usageError(TOOL, `unknown flag ${p.unknown[0]} for ${command}`);
  if (p.missingValue.length > 0) return usageError(TOOL, `${p.missingValue[0]} needs a value`);
  if (p.positionals.length > 0) return usageError(TOOL, `unexpected argument "${p.positionals[0]}"`);
  const missing = (spec.required ?? []).find((f) => !p.flags.has(f));
  if (missing) return usageError(TOOL, `${command} needs ${missing}`);
  // --host NAME: the same command on a fleet host (dx-runner forwards it over SSH)
  const host = stringFlag(p, '--host');
  if (host !== undefined && command === 'watchdog')
    return usageError(TOOL, 'watchdog runs on each host itself: start it there, not with --host');
  if (host !== undefined && host !== 'local' && p.flags.has('--repo'))
    return usageError(
      TOOL,
      `--repo looks for a worktree on this machine: with --host ${host} pass --worktree (a path on that host)`,
    );
  // the cc-glm provider; CC_GLM_JOB_PROVIDER points the same surface at another one (tests, experiments)
  const provider = env.CC_GLM_JOB_PROVIDER || 'cc-glm';
  let built: Built;
  try {
    built = spec.build(p, provider, env);
  } catch (err) {
    return reportError(err, env);
  }
  if ('error' in built) return usageError(TOOL, built.error);
  const args = [
    ...built.args,
    ...(host !== undefined ? ['--host', host] : []),
    ...(p.flags.has('--json') ? ['--json'] : []),
  ];
  const ignored = [...built.ignored];
  if (p.flags.has('--no-ansi')) ignored.push({ flag: '--no-ansi', why: 'dx-runner prints no colour codes' });
  deprecation(TOOL, args, env);
  explainIgnored(TOOL, ignored);
  return runDxRunner(args, env);
}
