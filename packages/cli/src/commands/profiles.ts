import { Flags } from '@oclif/core';
import type { Profile, ProfilesOutput } from '@dx/core';
import { DxCommand, exitCodesHelp, renderTable } from '@dx/cli-kit';

export default class Profiles extends DxCommand<ProfilesOutput> {
  static override summary = 'list the YAML start profiles, or show one';
  static override description = `Profiles are looked up in DX_RUNNER_PROFILES_DIR, then ~/.config/dx-runner/profiles, then the
ones shipped with @dx/core; the first file of a name wins. Use one with start --profile NAME.
${exitCodesHelp([0, 1])}`;

  static override examples = ['<%= config.bin %> profiles', '<%= config.bin %> profiles --show cc-glm-fallback'];

  static override flags = {
    list: Flags.boolean({ description: 'list every profile (the default)' }),
    show: Flags.string({ description: 'show one profile', helpValue: '<name>' }),
  };

  async run(): Promise<ProfilesOutput> {
    const { flags } = await this.parse(Profiles);
    const core = await this.core();
    const profiles = flags.show ? [core.loadProfile(flags.show)] : core.listProfiles();
    const toOutput = (p: Profile) => ({
      name: p.name,
      source: p.source,
      description: p.description ?? null,
      provider: p.provider,
      model: p.model ?? null,
      limits: { ...p.limits },
    });
    if (flags.show) {
      const p = profiles[0];
      this.out(`# ${p.name} (${p.source})`);
      this.out(core.readFileIfExists(p.source)?.trimEnd() ?? '');
    } else if (profiles.length === 0) {
      this.out('(no profiles found)');
    } else {
      this.out(
        renderTable(
          ['name', 'provider', 'model', 'description'],
          profiles.map((p) => [p.name, p.provider, p.model, p.description]),
          70,
        ),
      );
    }
    return { profiles: profiles.map(toOutput) };
  }
}
