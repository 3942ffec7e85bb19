import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.{js,mjs,ts}'],
    // Every wait in the tests is bounded; this is the last line of defence against a hang.
    testTimeout: 30000,
    hookTimeout: 30000,
    // Native loops, pools and worker threads: one file per fork, files in parallel on 2 cores.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    reporters: ['default'],
  },
});
