import { AppError } from '../errors.js';

/**
 * The one answer to work that would pass WEIR_MAX_OUTPUT_ROWS, for pipelines (a resample's filled grid, counted
 * before it runs; a run's output) and analytics (histogram bins, time series points): 422 `output_too_large` with
 * the count, the limit and what to ask for instead. `rows` and `limit` are also members of the problem document.
 */
export function outputTooLarge(o: {
  subject: string;
  count: number;
  what: string;
  limit: number;
  hint: string;
  pointer?: string;
}): AppError {
  const detail = `${o.subject} would make ${formatCount(o.count)} ${o.what}, more than the limit of ${formatCount(o.limit)} (WEIR_MAX_OUTPUT_ROWS); ${o.hint}`;
  return new AppError(
    'output_too_large',
    o.pointer ? `${detail} (at ${o.pointer})` : detail,
    o.pointer ? [{ pointer: o.pointer, message: detail }] : [],
    { rows: o.count, limit: o.limit },
  );
}

/** `3155760001` → `3,155,760,001`: counts in messages. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 0 });
}
