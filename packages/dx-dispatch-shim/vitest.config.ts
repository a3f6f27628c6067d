import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'dx-dispatch-shim', include: ['src/**/*.test.ts'], environment: 'node' },
});
