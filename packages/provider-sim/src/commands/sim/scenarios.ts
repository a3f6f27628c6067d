import { Flags } from '@oclif/core';
import { DxCommand, exitCodesHelp, flowText, renderTable } from '@dx/cli-kit';
import type { SimScenariosOutput } from '../../schemas.js';

export default class SimScenarios extends DxCommand<SimScenariosOutput> {
  static override summary = 'list the simulator scenarios, or check a scenario file';
  static override description =
    flowText(`The simulated agent (provider sim) runs a scenario instead of calling a model: messages, tool
calls, file writes and commits in the worktree, token usage, a final result, and the failures real
CLIs show, replayed from recordings of those CLIs. Use one with:

  dx-runner start --beads X --provider sim --scenario <name|file>

Scenario files are YAML; --file validates one and reports errors with line and column.
${exitCodesHelp([0, 1])}`);

  static override examples = [
    '<%= config.bin %> sim scenarios',
    '<%= config.bin %> sim scenarios --json',
    '<%= config.bin %> sim scenarios --file ./my-scenario.yaml',
  ];

  static override flags = {
    file: Flags.string({ description: 'validate this scenario file and show it', helpValue: '<file>' }),
  };

  async run(): Promise<SimScenariosOutput> {
    const { flags } = await this.parse(SimScenarios);
    const core = await this.core();
    const { loadScenario, shippedScenarios } = await import('../../scenario.js');
    const scenarios = flags.file ? [loadScenario(flags.file, core.readYamlFile)] : shippedScenarios(core.readYamlFile);
    const output: SimScenariosOutput = {
      scenarios: scenarios.map((s) => ({
        name: s.name,
        description: s.description,
        as: s.as ?? null,
        file: s.file,
        expect: {
          state: s.expect.state,
          reason_code: s.expect.reason_code ?? null,
          failure_class: s.expect.failure_class ?? null,
        },
      })),
    };
    this.out(
      renderTable(
        ['scenario', 'as', 'ends as', 'description'],
        output.scenarios.map((s) => [
          s.name,
          s.as ?? 'sim',
          [s.expect.state, s.expect.reason_code].filter(Boolean).join(' '),
          s.description,
        ]),
        60,
      ),
    );
    return output;
  }
}
