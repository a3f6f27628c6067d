import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'provider-opencode', include: ['src/**/*.test.ts'], environment: 'node' },
});
