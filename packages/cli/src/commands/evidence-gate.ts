import { Flags } from '@oclif/core';
import type { EvidenceGateOutput } from '@dx/core';
import { renderGate } from '../render/gate.js';
import { beadsFlag, DxCommand, exitCodesHelp, hostFlag } from '@dx/cli-kit';

export default class EvidenceGate extends DxCommand<EvidenceGateOutput> {
  static override summary = "check a signoff file's claims against what the job really did";
  static override description = `Claims are checked boxes ("- [x] …") and VERIFIED:/CONFIRMED:/VALIDATED: lines. "tests passed"
needs a test run ending in a pass in what the job's tools printed ("lint passed" a clean lint run);
the agent's own words do not count (a provider that cannot tell them apart is judged on its whole
log). "committed" needs the job's commits (and the SHA named, if any), "files changed" needs the
files named among the job's changed files. A contradicted claim fails the gate; one nothing can
confirm fails it only with --strict; a signoff that claims nothing fails it. Reasons: evidence_ok,
unverified_claims, signoff_without_claims, signoff_file_missing, outcome_missing.
${exitCodesHelp([0, 1])}`;

  static override examples = [
    '<%= config.bin %> evidence-gate --beads bd-xxx --signoff-file SIGNOFF.md',
    '<%= config.bin %> evidence-gate --beads bd-xxx --signoff-file SIGNOFF.md --strict --json',
  ];

  static override flags = {
    host: hostFlag,
    beads: beadsFlag({ required: true }),
    'signoff-file': Flags.string({
      description: 'the agent’s signoff (markdown)',
      required: true,
      helpValue: '<file>',
    }),
    strict: Flags.boolean({ description: 'also fail on claims that cannot be checked' }),
  };

  async run(): Promise<EvidenceGateOutput> {
    const { flags } = await this.parse(EvidenceGate);
    const core = await this.core();
    const result = await core.evidenceGate({
      root: await this.stateRoot(false),
      beads: flags.beads,
      signoffFile: flags['signoff-file'],
      strict: flags.strict,
      runtimeOf: async (id) => {
        const registry = await this.providers([id]);
        return registry.has(id) ? registry.get(id) : undefined;
      },
    });
    process.exitCode = result.passed ? 0 : 1;
    this.out(renderGate('Evidence Gate', result, [['verified', `${result.verified} / ${result.total} claims`]]));
    for (const c of result.claims) this.out(`  [${c.status}] line ${c.line}: ${c.text} — ${c.evidence}`);
    return result;
  }
}
