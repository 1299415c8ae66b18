/**
 * The min/max summary of a (time, value) pair of a version, and the slicing that lets it answer `minmax` requests
 * exactly. The summary holds, per fine bucket of `fineUs` µs aligned to the epoch, the rows' count and their lowest
 * and highest value with its time. A request's slices are whole runs of fine buckets when the slicing is aligned
 * (origin a multiple of `fineUs`, width a multiple of it), so the lowest point of a slice is the lowest of its fine
 * buckets' lowest points: the same point the raw rows give. Aligned slicing is chosen from the request alone (range
 * and points), never from whether a summary exists, so raw and summary answers cannot differ.
 */

/** Fine buckets per summary at most: a summary stays a few MB, and reading it costs tens of ms. */
export const MAX_FINE_BUCKETS = 2 ** 18;

/**
 * A slice is aligned only when at least this many fine buckets wide: rounding its width up to whole fine buckets
 * then costs at most 1/16 of the slices (of the points). With MAX_FINE_BUCKETS / 2.5 fine buckets at least (the
 * ladder's largest step), requests of up to 6,000 minmax slices (12,000 points, above the API's 10,000) are aligned.
 */
export const MIN_FINE_PER_SLICE = 16;

/** The width of the fine buckets for a time range: the least of 1, 2, 5 × 10^k ms that keeps them within the cap. */
export function fineWidthUs(range: { loUs: number; hiUs: number }): number {
  const need = (range.hiUs - range.loUs + 1) / MAX_FINE_BUCKETS;
  for (let unit = 1000; ; unit *= 10) {
    for (const step of [1, 2, 5]) if (unit * step >= need) return unit * step;
  }
}

/** Equal slices of the time axis: slice i covers [origin + i × width, origin + (i + 1) × width), the ends clamped. */
export interface Slicing {
  originUs: number;
  widthUs: number;
  count: number;
}

/** At most `slices` equal slices from `range.loUs` (the unaligned slicing every other request uses). */
export function plainSlicing(range: { loUs: number; hiUs: number }, slices: number): Slicing {
  // Whole microseconds: integer division is the cheapest way to a slice number over millions of rows.
  return {
    originUs: range.loUs,
    widthUs: Math.max(1, Math.ceil((range.hiUs - range.loUs + 1) / slices)),
    count: slices,
  };
}

/**
 * At most `slices` slices made of whole fine buckets, or null when they would be narrower than MIN_FINE_PER_SLICE
 * fine buckets (a request finer than the summary).
 */
export function alignedSlicing(range: { loUs: number; hiUs: number }, slices: number, fineUs: number): Slicing | null {
  const originUs = Math.floor(range.loUs / fineUs) * fineUs;
  const span = range.hiUs - originUs + 1;
  const widthUs = Math.ceil(Math.ceil(span / slices) / fineUs) * fineUs;
  if (widthUs < MIN_FINE_PER_SLICE * fineUs) return null;
  return { originUs, widthUs, count: Math.ceil(span / widthUs) };
}

/**
 * The slice of a time (`us`, µs) as SQL: clamped to the first and last slice, so rows a little outside the profiled
 * range (it has millisecond precision) join the end slices. A fine bucket's start and its rows get the same slice.
 */
export function sliceSql(us: string, s: Slicing): string {
  return `greatest(0, least((${us} - ${bigint(s.originUs)}) // ${bigint(s.widthUs)}, ${s.count - 1}))`;
}

/**
 * An integer written into the SQL. Bound as a parameter, a JS bigint becomes a HUGEINT, and the slice arithmetic
 * over every row with it (tens of times slower than BIGINT).
 */
export function bigint(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return `CAST(${n} AS BIGINT)`;
}

/**
 * The summary of `rows` (columns `t`, a timestamp, and `v`, a DOUBLE, both not null): one row per fine bucket with
 * rows, `start` its first µs (floored, also before 1970), ordered by it.
 */
export function summarySql(rows: string, fineUs: number): string {
  const L = bigint(fineUs);
  return (
    `SELECT us - ((us % ${L}) + ${L}) % ${L} AS start, count(*) AS n, min(v) AS lo_v, arg_min(us, v) AS lo_us, ` +
    `max(v) AS hi_v, arg_max(us, v) AS hi_us FROM (SELECT epoch_us(t) AS us, v FROM (${rows})) GROUP BY 1 ORDER BY 1`
  );
}

/** A request's slices from a summary: the columns the raw grouped query answers (`n`, `length`, the low and high points). */
export function slicesFromSummarySql(summary: string, s: Slicing): string {
  return (
    `SELECT 0 AS s, ${sliceSql('start', s)} AS slice, sum(n) AS n, sum(n) AS length, arg_min(lo_us, lo_v) AS low_us, ` +
    `min(lo_v) AS low_v, arg_max(hi_us, hi_v) AS high_us, max(hi_v) AS high_v FROM ${summary} GROUP BY 2 ORDER BY 1, 2`
  );
}
