import type { DuckDBConnection } from '@duckdb/node-api';

/** How often DuckDB's estimate is read: reading it is a field access, and job progress is written at most every 250 ms. */
const POLL_MS = 250;

/**
 * Runs `run` (one long query on `connection`) and hears DuckDB's own estimate of that query's progress, 0–100, while
 * it runs. DuckDB estimates from how much of its sources the query has read, so a COPY from a file moves evenly; a
 * query it cannot estimate reports nothing.
 */
export async function withQueryProgress<T>(
  connection: DuckDBConnection,
  onPercent: (percent: number) => void,
  run: () => Promise<T>,
): Promise<T> {
  await connection.run('SET enable_progress_bar = true');
  await connection.run('SET enable_progress_bar_print = false');
  const poll = setInterval(() => {
    const p = connection.progress.percentage;
    // -1 until DuckDB has an estimate.
    if (Number.isFinite(p) && p >= 0) onPercent(Math.min(100, p));
  }, POLL_MS);
  try {
    return await run();
  } finally {
    clearInterval(poll);
  }
}
