/** Longest wait between two attempts, whatever the base and the attempt number. */
export const MAX_BACKOFF_MS = 60 * 60_000;

/**
 * Exponential backoff with full jitter (a uniform draw between 0 and base·2^(attempt−1), capped): retries of
 * many jobs that failed together spread out instead of hammering the same dependency in waves.
 * `attempt` is the 1-based number of the attempt that just failed; `random` returns [0, 1).
 */
export function backoffDelay(attempt: number, baseMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(random() * ceiling);
}
