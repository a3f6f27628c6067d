import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'dx-batch', include: ['src/**/*.test.ts'], environment: 'node' },
});
