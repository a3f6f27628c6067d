import { Flags } from '@oclif/core';
import type { BeadsGateOutput } from '@dx/core';
import { renderGate } from '../render/gate.js';
import { DxCommand, exitCodesHelp } from '@dx/cli-kit';

export default class BeadsGate extends DxCommand<BeadsGateOutput> {
  static override summary = 'check the Beads database before a wave (exit 24 on failure)';
  static override description = `bd found; the external Beads repo at BEADS_REPO_PATH (default ~/bd) present with an origin
containing BEADS_REPO_REMOTE_SUBSTR (default stars-end/bd); the database reachable (bd ping); the
repo's binding matching the database (bd context project ids); --probe-id present (bd show);
--write-probe: a status round trip on the probe issue that restores its status. Reasons: beads_ok,
beads_unavailable, beads_external_repo_missing, beads_external_remote_mismatch, beads_db_error,
beads_repo_mismatch, beads_write_blocked, beads_probe_not_found.
${exitCodesHelp([0, 1, 24])}`;

  static override examples = [
    '<%= config.bin %> beads-gate --repo /path/to/worktree',
    '<%= config.bin %> beads-gate --repo /path/to/worktree --probe-id bd-xxx --write-probe --json',
  ];

  static override flags = {
    repo: Flags.string({ description: 'repo whose beads binding is checked (default: cwd)', helpValue: '<path>' }),
    'probe-id': Flags.string({ description: 'an issue that must exist', helpValue: '<id>' }),
    'write-probe': Flags.boolean({ description: 'also prove the database accepts writes (needs --probe-id)' }),
  };

  async run(): Promise<BeadsGateOutput> {
    const { flags } = await this.parse(BeadsGate);
    const core = await this.core();
    const result = await core.beadsGate({
      repo: flags.repo,
      probeId: flags['probe-id'],
      writeProbe: flags['write-probe'],
    });
    process.exitCode = result.passed ? 0 : core.ExitCode.beadsGateFailed;
    this.out(
      renderGate('Beads Gate', result, [
        ['bd', result.bd.path ? `${result.bd.path}${result.bd.version ? ` (${result.bd.version})` : ''}` : null],
        ['external repo', result.external_repo],
        ['external remote', result.external_remote],
        ['db', result.db_status],
        ['project (db)', result.project_id_db],
        ['project (repo)', result.project_id_repo],
        ['probe', result.probe_id],
        ['write probe', result.write_probe],
      ]),
    );
    return result;
  }
}
