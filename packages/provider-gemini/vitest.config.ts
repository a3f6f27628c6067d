import { defineProject } from 'vitest/config';

export default defineProject({
  test: { name: 'provider-gemini', include: ['src/**/*.test.ts'], environment: 'node' },
});
