import { startJob } from '../jobs/launch.js';
import { loadPolicy } from '../policy/load.js';
import { loadProfile } from '../profiles/profiles.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { StartOutputSchema, type StartOutput } from '../schemas/outputs.js';
import { Redactor } from '../secrets/redact.js';
import type { StartRequest } from './dx-runner-client.js';
import { asDxRunnerError } from './local-reads.js';

export interface LocalStartsOptions {
  env?: NodeJS.ProcessEnv;
  /** dx-runner's version and providers, as `dx-runner start` would load them (asked once). */
  load: () => Promise<{ version: string; registry: ProviderRegistry }>;
}

/**
 * `dx-runner start` run in this process: the same core startJob (validation, locks, caps, the watcher
 * it spawns and waits for), the same redaction and schema, without a Node start per job. For the local
 * dx-runner shipped with the caller only; a prompt given as text (for a remote host) is not taken here.
 */
export class LocalStarts {
  private readonly env: NodeJS.ProcessEnv;
  private readonly redactor: Redactor;
  private loaded?: Promise<{ version: string; registry: ProviderRegistry } | undefined>;

  constructor(private readonly options: LocalStartsOptions) {
    this.env = options.env ?? process.env;
    this.redactor = Redactor.fromEnv([this.env]);
  }

  /** False when dx-runner's providers could not be loaded here: the caller runs dx-runner instead. */
  async available(): Promise<boolean> {
    return (await this.load()) !== undefined;
  }

  async start(req: StartRequest): Promise<StartOutput> {
    const loaded = await this.load();
    if (!loaded) throw new Error('in-process start is not available');
    try {
      const result = await startJob({
        beads: req.beads,
        provider: req.provider,
        profile: req.profile ? loadProfile(req.profile, this.env) : undefined,
        promptFile: req.promptFile,
        worktree: req.worktree,
        model: req.model,
        owner: req.owner,
        expectNoChanges: req.expectNoChanges,
        policy: loadPolicy({ file: req.policy, env: this.env }),
        registry: loaded.registry,
        version: loaded.version,
        env: this.env,
      });
      return StartOutputSchema.parse(this.redactor.redactDeep(result));
    } catch (err) {
      throw asDxRunnerError(err, ['start', '--beads', req.beads]);
    }
  }

  private load(): Promise<{ version: string; registry: ProviderRegistry } | undefined> {
    this.loaded ??= this.options.load().catch(() => undefined);
    return this.loaded;
  }
}
