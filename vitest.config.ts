import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
    // Integration tests boot real servers, DuckDB and databases: two cores, so keep the fan-out small.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report lets .ci/run print one "N passed, N failed" line per run.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
