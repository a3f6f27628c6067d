import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'cli',
    include: ['src/**/*.test.ts'],
    environment: 'node',
    disableConsoleIntercept: true,
    // commands run from their TypeScript sources here, so a job's watcher runs through tsx: without
    // this, tsx keeps its compile cache in the system temp dir (/tmp/tsx-<uid>) after the run
    env: { TSX_DISABLE_CACHE: '1' },
  },
});
