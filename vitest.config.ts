import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'test/vitest.config.ts'],
    // Vitest's default is one worker fewer than the cores: one worker on CI's 2 cores, where the
    // end-to-end files spend most of their time waiting on the processes they start (measured: the
    // e2e project 754 s with two workers against ~1,240 s with one, every test passing)
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
