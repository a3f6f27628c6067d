import path from 'node:path';
import { Args } from '@oclif/core';
import type { CompletionOutput } from '@dx/core';
import { DxCommand, exitCodesHelp } from '@dx/cli-kit';
import { completionScript, type CompletionShell } from '../../render/completion.js';

export default class Completion extends DxCommand<CompletionOutput> {
  static override summary = 'print the bash or zsh completion script (commands, flags, and recorded beads ids)';
  static override description = `Completes commands and flags (oclif's autocomplete, whose cache this refreshes) and, after
--beads, the beads ids of the jobs recorded in the state root at the moment you press Tab.
Add to ~/.bashrc (zsh: ~/.zshrc, with "completion zsh"):

  eval "$(dx-runner completion bash)"

After an upgrade, open a new shell (the script refreshes oclif's cache each time it is printed).
${exitCodesHelp([0, 1])}`;

  static override examples = [
    `echo 'eval "$(<%= config.bin %> completion bash)"' >> ~/.bashrc`,
    `echo 'eval "$(<%= config.bin %> completion zsh)"' >> ~/.zshrc`,
  ];

  static override args = {
    shell: Args.string({ description: 'the shell', options: ['bash', 'zsh'], required: true }),
  };

  async run(): Promise<CompletionOutput> {
    const { args } = await this.parse(Completion);
    const shell = args.shell as CompletionShell;
    // oclif's autocomplete writes the command/flag functions into its cache; ours sources them
    await this.config.runCommand('autocomplete:create');
    const functionsDir = path.join(this.config.cacheDir, 'autocomplete', 'functions');
    const script = completionScript(shell, {
      bin: this.config.bin,
      bashFunctionFile: path.join(functionsDir, 'bash', `${this.config.bin}.bash`),
      zshFunctionsDir: path.join(functionsDir, 'zsh'),
    });
    if (!this.jsonEnabled()) process.stdout.write(script);
    return { shell, script };
  }
}
