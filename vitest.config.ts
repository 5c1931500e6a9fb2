import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The addon holds process-wide libtorch state; forks isolate suites from each other.
    pool: 'forks',
    // Memory tests call gc() so that handles awaiting finalisation do not blur their counts.
    execArgv: ['--expose-gc'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
