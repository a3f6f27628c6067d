import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'nightly-dispatch', include: ['src/**/*.test.ts'], environment: 'node' },
});
