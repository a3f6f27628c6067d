import type { VersionOutput } from '@dx/core';
import { DxCommand, exitCodesHelp } from '@dx/cli-kit';

export default class Version extends DxCommand<VersionOutput> {
  static override summary = "this dx-runner's version, its plugins' versions and its JSON contract version";
  static override description = `Also \`dx-runner --version --json\`. The hosts of a fleet compare json_contract_version: the same
number reads the same --json shapes. core_api_version is the provider plugin API (a plugin's
dxRunner.provider.coreApiVersion must match it).
${exitCodesHelp([0])}`;

  static override examples = ['<%= config.bin %> version', '<%= config.bin %> --version --json'];

  async run(): Promise<VersionOutput> {
    await this.parse(Version);
    const { CORE_API_VERSION, JSON_CONTRACT_VERSION } = await this.core();
    const { config } = this;
    const output: VersionOutput = {
      name: config.name,
      version: config.version,
      root: config.root,
      node: process.version,
      platform: `${config.platform}-${config.arch}`,
      json_contract_version: JSON_CONTRACT_VERSION,
      core_api_version: CORE_API_VERSION,
      plugins: config
        .getPluginsList()
        .filter((p) => p.name !== config.name)
        .map((p) => ({ name: p.name, version: p.version, type: p.type }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
    this.out(
      `${config.name} ${config.version} (json contract ${JSON_CONTRACT_VERSION}, plugin API ${CORE_API_VERSION})`,
    );
    for (const p of output.plugins) this.out(`  ${p.name} ${p.version}`);
    return output;
  }
}
