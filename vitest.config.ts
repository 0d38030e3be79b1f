import { defineConfig } from 'vitest/config';

// One suite for the whole repository. Every test file gets its own database (testkit), so files
// run in parallel safely; the global set-up finds (or starts) a PostgreSQL server for them.
export default defineConfig({
  test: {
    include: [
      'packages/*/test/**/*.spec.ts',
      'services/*/test/**/*.spec.ts',
      'runtime/test/**/*.spec.ts',
      'test/**/*.spec.ts',
    ],
    globalSetup: ['./test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time: an all-in-one runtime holds ~35 PostgreSQL connections (seven pools,
    // leader loops, listeners), and the machine's server allows 100.
    maxWorkers: 2,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
