import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The addon keeps process-wide libtorch state, so each suite runs in its own forked process.
    pool: 'forks',
    // Memory tests call gc() so that handles awaiting finalisation do not blur their counts.
    execArgv: ['--expose-gc'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
