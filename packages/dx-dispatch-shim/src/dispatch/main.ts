import os from 'node:os';
import {
  assertBeadsId,
  connectHost,
  DxRunnerClient,
  loadPolicy,
  readPromptFile,
  sectionOf,
  validateEnv,
  writeSecurePromptFile,
  type Policy,
  type SecurePromptFile,
} from '@dx/core';
import { parseLegacyArgv, stringFlag, type FlagArity } from '../forward/argv.js';
import {
  deprecation,
  dxRunnerArgv,
  explainIgnored,
  reportError,
  runDxRunner,
  usageError,
  worktreeForRepo,
} from '../forward/forward.js';
import { DISPATCH_SECTION, providerForVm } from './vm.js';

const TOOL = 'dx-dispatch';

export const USAGE = `Usage: dx-dispatch <vm> "<task>" | - [--beads <id>] [--repo <name|dir>] [--worktree <dir>] [--model <m>]
                   [--wait [--timeout <sec>]] [--dry-run]
       dx-dispatch --list | --status [<vm>] | --abort <id> | --help

dx-dispatch is a compatibility shim: every call runs dx-runner and returns its exit code.
A task of "-" is read from stdin; a task given in argv is blanked from this process's command line.
  dx-dispatch <vm> "task" --beads bd-1   ->  dx-runner start --provider <p> --beads bd-1 --prompt-file <private file>
  dx-dispatch --list                     ->  dx-runner status
  dx-dispatch --status                   ->  dx-runner status
  dx-dispatch --status <vm>              ->  dx-runner preflight --provider <p>   (is that backend usable?)
  dx-dispatch --abort <id>               ->  dx-runner stop --beads <id>
A <vm> that the policy's fleet.hosts names is that host: the job runs there (dx-runner start --host
<vm>, the prompt sent over SSH), with the host's first provider unless --provider says otherwise.
Otherwise <vm> picks the provider: cc-glm or local -> cc-glm, gemini -> gemini, any host name ->
opencode (policy dispatch.hosts maps hosts explicitly). --wait runs dx-runner wait until the job ends
(exit: dx-runner check's code; 124 when --timeout, default 300 s, passes first).
Flags of the old tool with no dx-runner counterpart (--session --slack --no-slack --smoke-pr --all
--shell --attach --issue) are accepted and named in a warning; --jules and --finalize-pr are refused.
DX_DISPATCH_NO_DEPRECATION=1 silences the [DEPRECATION] line.`;

const FLAGS: Record<string, FlagArity> = {
  '--help': 'none',
  '--list': 'none',
  '--status': 'optional',
  '--beads': 'value',
  '--repo': 'value',
  '--worktree': 'value',
  '--model': 'value',
  '--provider': 'value',
  '--wait': 'none',
  '--timeout': 'value',
  '--dry-run': 'none',
  '--json': 'none',
  '--abort': 'value',
  '--session': 'value',
  '--slack': 'none',
  '--no-slack': 'none',
  '--smoke-pr': 'none',
  '--all': 'none',
  '--shell': 'none',
  '--attach': 'none',
  '--issue': 'value',
  '--jules': 'none',
  '--finalize-pr': 'value',
};

const IGNORED: Record<string, string> = {
  '--session': 'lib/fleet sessions do not exist in dx-runner; use dx-runner restart --beads',
  '--slack': 'Slack audit is not part of dx-runner',
  '--no-slack': 'Slack audit is not part of dx-runner',
  '--smoke-pr': 'no PR automation in dx-runner',
  '--all': 'dispatch is local; there are no hosts to fan out to',
  '--shell': 'legacy transport option',
  '--attach': 'legacy transport option',
  '--issue': 'only meaningful with --jules',
};

const REFUSED: Record<string, string> = {
  '--jules': 'Jules cloud dispatch has no dx-runner counterpart; run jules yourself',
  '--finalize-pr': 'PR finalisation has no dx-runner counterpart; open the PR with gh',
};

/** The shim's own variables, checked before anything runs. */
const SHIM_ENV = [
  { name: 'DX_DISPATCH_NO_DEPRECATION', kind: 'flag', default: '0', description: '1 silences the [DEPRECATION] line' },
] as const;

function defaultBeadsId(now = new Date()): string {
  return `dispatch-${now.toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;
}

/** `--wait`: `dx-runner wait`, bounded by --timeout (124 when it passes first; the job keeps running). */
async function waitForJob(
  beads: string,
  timeoutSec: number,
  env: NodeJS.ProcessEnv,
  fleet?: { policy: Policy; host: string },
): Promise<number> {
  // the client's own timeout only guards against a dx-runner that never answers
  const timeoutMs = (timeoutSec + 60) * 1000;
  try {
    const client = fleet
      ? new DxRunnerClient({ transport: (await connectHost(fleet.policy, fleet.host, env)).transport, timeoutMs })
      : new DxRunnerClient({ command: dxRunnerArgv(env), env, timeoutMs });
    const { exitCode, view } = await client.wait(beads, timeoutSec);
    if (view.timed_out) {
      process.stderr.write(
        `Error: ${beads} still running after --timeout ${timeoutSec}s; it keeps running (dx-runner check ${beads}) (reason_code=wait_timeout)\n`,
      );
      return 124;
    }
    process.stderr.write(`${beads}: ${view.state} (${view.reason_code ?? '-'})\n`);
    return exitCode;
  } catch (err) {
    return reportError(err, env);
  }
}

export async function runDxDispatch(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const parsed = parseLegacyArgv(argv, FLAGS, { '-h': '--help', '-i': '--issue' });
  if (parsed.flags.has('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (argv.length === 0) return usageError(TOOL, 'dx-dispatch requires <vm> and <task>');
  if (parsed.unknown.length > 0) return usageError(TOOL, `unknown flag ${parsed.unknown[0]}`);
  if (parsed.missingValue.length > 0) return usageError(TOOL, `${parsed.missingValue[0]} needs a value`);
  for (const [flag, why] of Object.entries(REFUSED))
    if (parsed.flags.has(flag)) return usageError(TOOL, `${flag}: ${why}`);
  const json = parsed.flags.has('--json') ? ['--json'] : [];

  let policy: Policy;
  try {
    validateEnv(env);
    validateEnv(env, SHIM_ENV);
    policy = loadPolicy({ env, sections: [DISPATCH_SECTION] });
  } catch (err) {
    return reportError(err, env);
  }

  // --list, --status and --abort take their one value (if any); a word beyond it is never dropped unread
  const mode = (['--list', '--status', '--abort'] as const).find((f) => parsed.flags.has(f));
  if (mode && parsed.positionals.length > 0)
    return usageError(
      TOOL,
      `unexpected argument "${parsed.positionals[0]}": ${mode} takes ${mode === '--list' ? 'no argument' : 'one value'}`,
    );
  if (parsed.flags.has('--list') || parsed.flags.get('--status') === true) {
    const args = ['status', ...json];
    deprecation(TOOL, args, env);
    return runDxRunner(args, env);
  }
  const statusVm = stringFlag(parsed, '--status');
  if (statusVm && policy.fleet.hosts[statusVm]) {
    const args = ['preflight', '--host', statusVm, ...json];
    deprecation(TOOL, args, env);
    return runDxRunner(args, env);
  }
  if (statusVm) {
    const provider = providerForVm(statusVm, sectionOf(policy, DISPATCH_SECTION));
    if (!provider)
      return usageError(
        TOOL,
        `no provider for "${statusVm}": add it to the policy's dispatch.hosts or set dispatch.default_provider`,
      );
    const args = ['preflight', '--provider', provider, ...json];
    deprecation(TOOL, args, env);
    return runDxRunner(args, env);
  }
  const abort = stringFlag(parsed, '--abort');
  if (abort) {
    const args = ['stop', '--beads', abort, ...json];
    deprecation(TOOL, args, env);
    return runDxRunner(args, env);
  }

  const [vm, taskArg, ...extra] = parsed.positionals;
  if (!vm || taskArg === undefined) return usageError(TOOL, 'dx-dispatch requires <vm> and <task>');
  if (extra.length > 0) return usageError(TOOL, `unexpected argument "${extra[0]}" (quote the task)`);
  let task: string;
  try {
    // `-` reads the task from stdin, so it never appears in any command line (bounded like any prompt)
    task = taskArg === '-' ? readPromptFile('-') : taskArg;
  } catch (err) {
    return reportError(err, env);
  }
  if (!task.trim()) return usageError(TOOL, 'the task is empty');
  const beads = stringFlag(parsed, '--beads') ?? defaultBeadsId();
  try {
    assertBeadsId(beads);
  } catch (err) {
    return reportError(err, env);
  }
  const timeoutRaw = stringFlag(parsed, '--timeout') ?? '300';
  const timeoutSec = Number(timeoutRaw);
  if (!Number.isFinite(timeoutSec) || timeoutSec <= 0)
    return usageError(TOOL, `--timeout must be a positive number of seconds, got "${timeoutRaw}"`);

  // the legacy tool's meaning of <vm>: a host to dispatch to, when the policy's fleet names it
  const fleetHost = policy.fleet.hosts[vm];
  const provider =
    stringFlag(parsed, '--provider') ??
    fleetHost?.providers?.[0] ??
    providerForVm(vm, sectionOf(policy, DISPATCH_SECTION));
  if (!provider)
    return usageError(
      TOOL,
      `no provider for "${vm}": add it to the policy's dispatch.hosts or set dispatch.default_provider`,
    );
  const args = ['start', '--provider', provider, '--beads', beads, ...(fleetHost ? ['--host', vm] : [])];
  let worktree = stringFlag(parsed, '--worktree');
  const repo = stringFlag(parsed, '--repo');
  const ignored = Object.entries(IGNORED)
    .filter(([flag]) => parsed.flags.has(flag))
    .map(([flag, why]) => ({ flag, why }));
  if (!worktree && repo && fleetHost)
    ignored.push({ flag: `--repo ${repo}`, why: `on fleet host ${vm} pass --worktree (a path on that host)` });
  else if (!worktree && repo) {
    worktree = worktreeForRepo(repo, beads, policy, env);
    if (!worktree)
      ignored.push({
        flag: `--repo ${repo}`,
        why: `no worktree for it under ${policy.worktrees.allowedPrefixes.map((p) => `${p}/${beads}/`).join(' or ')}; dx-runner uses its default worktree`,
      });
  }
  const model = stringFlag(parsed, '--model');
  let prompt: SecurePromptFile;
  try {
    prompt = writeSecurePromptFile('dx-dispatch_', beads, `${task}\n`, env.TMPDIR || undefined);
  } catch (err) {
    const dir = env.TMPDIR || os.tmpdir();
    process.stderr.write(
      `Error: cannot create the private prompt file in ${dir} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); set TMPDIR to a writable directory (reason_code=prompt_file_unwritable)\n`,
    );
    return 1;
  }
  try {
    args.push('--prompt-file', prompt.path);
    if (worktree) args.push('--worktree', worktree);
    if (model) args.push('--model', model);
    if (parsed.flags.has('--dry-run')) args.push('--dry-run');
    args.push(...json);
    deprecation(
      TOOL,
      args.map((a) => (a === prompt.path ? '<prompt-file>' : a)),
      env,
    );
    explainIgnored(TOOL, ignored);
    const code = await runDxRunner(args, env);
    // dx-runner start has copied the prompt by the time it acknowledges the launch
    prompt.remove();
    if (code !== 0 || !parsed.flags.has('--wait') || parsed.flags.has('--dry-run')) return code;
    return await waitForJob(beads, timeoutSec, env, fleetHost ? { policy, host: vm } : undefined);
  } finally {
    prompt.remove();
  }
}
