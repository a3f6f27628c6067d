import { z } from '@dx/core/zod';

export const SimScenarioSchema = z.object({
  name: z.string(),
  description: z.string(),
  /** The real CLI whose output and classification it imitates; null for the simulator's own format. */
  as: z.string().nullable(),
  file: z.string(),
  expect: z.object({
    state: z.string(),
    reason_code: z.string().nullable(),
    failure_class: z.string().nullable(),
  }),
});

export const SimScenariosOutputSchema = z.object({ scenarios: z.array(SimScenarioSchema) });
export type SimScenariosOutput = z.infer<typeof SimScenariosOutputSchema>;

export const DemoOutputSchema = z.object({
  beads: z.string(),
  worktree: z.string(),
  /** Null after --clean. */
  scenario: z.string().nullable(),
  state: z.string().nullable(),
  reason_code: z.string().nullable(),
  /** What to run next to inspect the demo job. */
  commands: z.array(z.string()),
  cleaned: z.boolean(),
});
export type DemoOutput = z.infer<typeof DemoOutputSchema>;

/** The --json outputs of the simulator's commands, by command (schemas/dx-runner/<name>.json). */
export const SIM_OUTPUT_SCHEMAS = { 'sim-scenarios': SimScenariosOutputSchema, demo: DemoOutputSchema } as const;
