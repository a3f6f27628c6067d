import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'provider-cc-glm', include: ['src/**/*.test.ts'], environment: 'node' },
});
