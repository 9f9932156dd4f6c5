import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    // test/clients has its own install (Node 22 clients): nothing under its node_modules is ours.
    exclude: ['**/node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start servers and child processes; two cores shared, so keep parallelism modest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
