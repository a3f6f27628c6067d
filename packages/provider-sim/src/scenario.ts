import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from '@dx/core/zod';

/** The real CLIs a scenario can imitate: their output format, failure texts and classification. */
export const IMITATED = ['opencode', 'cc-glm', 'gemini'] as const;
export type Imitated = (typeof IMITATED)[number];

const text = z.string().min(1).max(20_000);

/**
 * One thing the simulated agent does. Texts may use `${beads}` (the job's beads id) and `${item}`
 * (a dx-batch prompt's item, else the beads id), `${attempt}` (a dx-batch prompt's attempt, else 1). `replay`
 * prints a recording of the imitated CLI (stdout, stderr) and exits with its exit code.
 */
const STEP_KINDS = [
  'message',
  'tool',
  'write',
  'commit',
  'usage',
  'retry',
  'silent_sec',
  'result',
  'stderr',
  'replay',
  'hang',
  'crash',
  'exit',
] as const;

const StepSchema = z.union(
  [
    z.object({ message: text }).strict(),
    z.object({ tool: z.string().min(1), detail: z.string().optional() }).strict(),
    z
      .object({
        write: z
          .string()
          .min(1)
          .refine(
            (p) => !path.isAbsolute(p) && !p.split(/[\\/]/).includes('..'),
            'a path inside the worktree (relative, without ..)',
          ),
        content: z.string().optional(),
      })
      .strict(),
    z.object({ commit: text }).strict(),
    z
      .object({
        usage: z
          .object({
            input: z.number().int().min(0),
            output: z.number().int().min(0),
            cost: z.number().min(0).optional(),
          })
          .strict(),
      })
      .strict(),
    z
      .object({
        retry: z.object({ class: z.string().min(1), retry_after_sec: z.number().int().min(0).optional() }).strict(),
      })
      .strict(),
    z.object({ silent_sec: z.number().positive().max(86_400) }).strict(),
    z.object({ result: text, ok: z.boolean().optional() }).strict(),
    z.object({ stderr: text }).strict(),
    z.object({ replay: z.string().regex(/^[a-z0-9-]+$/, 'a recording name like zai1302 or 429') }).strict(),
    z.object({ hang: z.literal(true) }).strict(),
    z.object({ crash: z.enum(['SIGSEGV', 'SIGABRT', 'SIGKILL']) }).strict(),
    z.object({ exit: z.number().int().min(0).max(255) }).strict(),
  ],
  { error: `not a step; a step is one of: ${STEP_KINDS.join(', ')}` },
);
export type Step = z.infer<typeof StepSchema>;

export const ScenarioSchema = z
  .object({
    description: z.string().min(1),
    /** Print the imitated CLI's event format and let its provider classify the failure. */
    as: z.enum(IMITATED).optional(),
    /** What the imitated provider believed at launch (its classifier reads "model not found" differently without). */
    credentials: z.enum(['present', 'missing']).default('present'),
    /** What a user should see when dx-runner has handled this scenario. */
    expect: z
      .object({
        state: z.enum(['exited_ok', 'exited_err', 'no_op', 'stalled', 'blocked']),
        reason_code: z.string().min(1).optional(),
        failure_class: z.string().min(1).optional(),
      })
      .strict(),
    steps: z.array(StepSchema).min(1),
  })
  .strict()
  .superRefine((s, ctx) => {
    s.steps.forEach((step, n) => {
      if ('replay' in step && !s.as)
        ctx.addIssue({ code: 'custom', path: ['steps', n, 'replay'], message: 'replay needs `as:` (whose recording)' });
    });
  });
export type Scenario = z.infer<typeof ScenarioSchema> & { name: string; file: string };

/** A scenario that cannot be used: the caller's mistake, so exit 1 with a reason code, never a crash. */
export class ScenarioError extends Error {
  readonly exitCode = 1;
  readonly reasonCode = 'sim_scenario_invalid';
  readonly nextAction = 'run_dx-runner_sim_scenarios';
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

/** The scenarios shipped with the simulator. */
export const SHIPPED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

/** Core's YAML reader (injected: a provider plugin reaches core only through its services). */
export type YamlFileReader = <S extends z.ZodType>(file: string, schema: S, kind: string) => z.output<S>;

/** Read a scenario file; errors name the file, line and column. */
export function readScenario(file: string, read: YamlFileReader): Scenario {
  try {
    return { ...read(file, ScenarioSchema, 'scenario'), name: path.basename(file).replace(/\.ya?ml$/, ''), file };
  } catch (err) {
    // core's reader says what is wrong and where; the simulator has one error type
    if (err instanceof Error && 'reasonCode' in err) throw new ScenarioError(err.message);
    throw err;
  }
}

/** The shipped scenarios, by name. */
export function shippedScenarios(read: YamlFileReader): Scenario[] {
  return fs
    .readdirSync(SHIPPED_DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => readScenario(path.join(SHIPPED_DIR, f), read));
}

/** A shipped scenario by name, or a scenario file by path. */
export function loadScenario(nameOrFile: string, read: YamlFileReader, cwd = process.cwd()): Scenario {
  const isPath = nameOrFile.includes('/') || /\.ya?ml$/.test(nameOrFile);
  const file = isPath ? path.resolve(cwd, nameOrFile) : path.join(SHIPPED_DIR, `${nameOrFile}.yaml`);
  if (!isPath && !fs.existsSync(file)) {
    const names = shippedScenarios(read).map((s) => s.name);
    throw new ScenarioError(`unknown scenario "${nameOrFile}" (shipped: ${names.join(', ')})`);
  }
  return readScenario(file, read);
}
