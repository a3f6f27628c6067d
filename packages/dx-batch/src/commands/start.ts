import fs from 'node:fs';
import path from 'node:path';
import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp, policyFlag, positiveNumber } from '@dx/cli-kit';
import { waveIdFlag } from '../waves/wave-id.js';
import { BATCH_DEFAULTS } from '../policy-defaults.js';
import type { WaveOutput } from '../schemas.js';
import { exitCodeForWave, finishWave } from '../render/wave-output.js';

export default class Start extends DxCommand<WaveOutput> {
  static override summary = 'run a new implement→review wave over dx-runner';
  static override description = `Every item goes PENDING → IMPLEMENTING → REVIEWING → APPROVED through dx-runner jobs (review is a
separate job), REVISION_REQUIRED back to implementing (at most --max-revisions times), BLOCKED when
the retry chain (policy batch.retry_chain, default ${BATCH_DEFAULTS.retry_chain.join(' → ')}) or the agent gives up. At most
--max-parallel items run at once. Before dispatching: provider preflight, dx-runner prune and the
exec saturation cap. With --hosts (or batch.hosts), each host is preflighted (reachable, JSON
contract, providers); an attempt goes to a host with its provider and a free slot under the host's
max_parallel, least loaded first; a host that stops answering keeps its attempts for
fleet.host_down_grace_minutes, then they run elsewhere. A live view goes to stderr.
${exitCodesHelp([0, 1, 3, 22])}
  (3: the wave completed with blocked or cancelled items)`;

  static override examples = [
    '<%= config.bin %> start --items bd-aaa,bd-bbb,bd-ccc --max-parallel 3',
    '<%= config.bin %> start --items bd-aaa,bd-bbb --exec-process-cap 40 --wave-id wave-42',
    '<%= config.bin %> start --items bd-aaa,bd-bbb,bd-ccc --hosts epyc6,macmini,local --max-parallel 6',
  ];

  static override flags = {
    items: Flags.string({ description: 'comma-separated Beads ids', required: true, helpValue: '<ids>' }),
    'wave-id': waveIdFlag({ description: 'wave id (default wave-YYYYMMDD-HHMMSS, UTC)' }),
    'max-parallel': Flags.integer({
      description: `items running at once (policy batch.max_parallel, default ${BATCH_DEFAULTS.max_parallel})`,
      min: 1,
      helpValue: '<n>',
    }),
    'max-revisions': Flags.integer({
      description: `REVISION_REQUIRED verdicts allowed per item (policy batch.max_revisions, default ${BATCH_DEFAULTS.max_revisions})`,
      min: 0,
      helpValue: '<n>',
    }),
    'exec-process-cap': Flags.integer({
      description: `refuse to dispatch above this many live dispatch/runner processes (policy batch.exec_process_cap, default ${BATCH_DEFAULTS.exec_process_cap})`,
      min: 1,
      helpValue: '<n>',
    }),
    'poll-interval': positiveNumber({
      description: `seconds between cycles (policy batch.poll_interval_sec, default ${BATCH_DEFAULTS.poll_interval_sec})`,
    }),
    'max-tokens': Flags.integer({
      description:
        'token budget: once the attempts have spent this many tokens (input + output, as the agents report them), no attempt starts and the wave pauses when its running jobs end (policy batch.max_tokens, default none)',
      min: 1,
      helpValue: '<n>',
    }),
    'no-review': Flags.boolean({ description: 'approve after a successful implement run, without a review job' }),
    'prompt-file': Flags.string({
      description: 'extra instructions added to every implement prompt',
      helpValue: '<file>',
    }),
    'worktree-base': Flags.string({
      description: 'items work in the single git worktree under <base>/<id>/ (default: first allowed prefix)',
      helpValue: '<dir>',
    }),
    hosts: Flags.string({
      description:
        "comma-separated fleet hosts to dispatch to: names of the policy's fleet.hosts, and local (default: policy batch.hosts, else local)",
      helpValue: '<names>',
    }),
    policy: policyFlag,
  };

  async run(): Promise<WaveOutput> {
    const { flags } = await this.parse(Start);
    const core = await this.core();
    const items = commaList(flags.items);
    if (items.length === 0)
      throw new core.DxError('--items lists no beads id', {
        exitCode: core.ExitCode.usage,
        reasonCode: 'items_required',
      });
    for (const id of items) core.assertBeadsId(id);
    // an item's review job runs as <id>-review: an item of that name would share its job
    const clash = items.find((id) => items.includes(`${id}-review`));
    if (clash)
      throw new core.DxError(
        `--items lists both ${clash} and ${clash}-review, whose job ids would collide (the review of ${clash} runs as ${clash}-review)`,
        { exitCode: core.ExitCode.usage, reasonCode: 'items_collide' },
      );
    // ... and must itself be a beads id: an item of 122 characters or more would implement, then
    // have every review refused (invalid_beads_id) and end blocked
    const tooLong = items.find((id) => !core.isValidBeadsId(`${id}-review`));
    if (tooLong)
      throw new core.DxError(
        `--items: ${tooLong.slice(0, 40)}… is too long for a wave: its review runs as <id>-review, which must stay within 128 characters`,
        {
          exitCode: core.ExitCode.usage,
          reasonCode: 'invalid_beads_id',
          nextAction: 'pass_a_beads_issue_id_like_bd-abc.1',
        },
      );
    const promptFile = flags['prompt-file'] ? path.resolve(flags['prompt-file']) : null;
    if (promptFile) {
      core.readPromptFile(promptFile);
      // the wave reads it again for every attempt's prompt (a resumed wave too): a pipe gives its text once
      if (!fs.statSync(promptFile).isFile())
        throw new core.DxError(
          `--prompt-file ${promptFile} is a pipe: a wave reads its prompt file again for every attempt, so it must be a regular file`,
          { exitCode: core.ExitCode.general, reasonCode: 'prompt_file_invalid', nextAction: 'pass_a_regular_file' },
        );
    }
    const hosts = flags.hosts === undefined ? undefined : commaList(flags.hosts);
    if (hosts?.length === 0)
      throw new core.DxError(`--hosts lists no host (${JSON.stringify(flags.hosts)})`, {
        exitCode: core.ExitCode.usage,
        reasonCode: 'invalid_flag',
      });
    const worktreeBase = flags['worktree-base'] ? existingDirectory(core, flags['worktree-base']) : undefined;
    const { startWave } = await import('../orchestrator/lifecycle.js');
    const { waveDeps } = await import('../deps.js');
    const deps = waveDeps({ policyFile: flags.policy, silent: this.jsonEnabled(), create: true });
    const wave = await startWave(
      {
        items,
        waveId: flags['wave-id'],
        config: {
          ...(flags['max-parallel'] ? { max_parallel: flags['max-parallel'] } : {}),
          ...(flags['max-revisions'] !== undefined ? { max_revisions: flags['max-revisions'] } : {}),
          ...(flags['exec-process-cap'] ? { exec_process_cap: flags['exec-process-cap'] } : {}),
          ...(flags['poll-interval'] ? { poll_interval_sec: flags['poll-interval'] } : {}),
          ...(flags['max-tokens'] ? { max_tokens: flags['max-tokens'] } : {}),
          ...(flags['no-review'] ? { review: false } : {}),
          ...(hosts ? { hosts } : {}),
          ...(worktreeBase ? { worktree_base: worktreeBase } : {}),
          prompt_file: promptFile,
          policy_file: flags.policy ? path.resolve(flags.policy) : null,
        },
      },
      { ...deps, onRunning: (o) => this.onInterrupt(() => o.requestPause()) },
    );
    process.exitCode = exitCodeForWave(wave);
    return finishWave((t) => this.out(t), wave);
  }
}

/** The distinct, non-empty names of a comma-separated flag value. */
function commaList(value: string): string[] {
  return [
    ...new Set(
      value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
}

/** --worktree-base as a real path: a directory that exists, else a usage error naming it. */
function existingDirectory(core: typeof import('@dx/core'), dir: string): string {
  let real: string;
  try {
    real = fs.realpathSync(path.resolve(dir));
  } catch {
    throw new core.DxError(`--worktree-base ${dir}: no such directory`, {
      exitCode: core.ExitCode.usage,
      reasonCode: 'invalid_flag',
    });
  }
  if (!fs.statSync(real).isDirectory())
    throw new core.DxError(`--worktree-base ${dir}: not a directory`, {
      exitCode: core.ExitCode.usage,
      reasonCode: 'invalid_flag',
    });
  return real;
}
