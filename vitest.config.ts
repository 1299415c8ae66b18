import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The dashboard's modules are TSX with React's automatic runtime (web/tsconfig.json).
  esbuild: { jsx: 'automatic' },
  test: {
    // web/src: the dashboard's pure logic (its pages are tested in a browser: web/e2e, Playwright).
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'web/src/**/*.test.ts'],
    // Integration tests boot real servers, DuckDB and databases: two cores, so keep the fan-out small.
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report lets .ci/run print one "N passed, N failed" line per run.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
