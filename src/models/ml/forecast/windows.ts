/**
 * Lookback/horizon windows over a series, stride 1 (the LTSF protocol). A window is named by its origin t: the
 * input is series[t − lookback, t) and the targets series[t, t + horizon). Windows of a range have every target
 * inside the range; inputs may reach back before it (into the previous split).
 */

/** Origins [first, last] (inclusive) of the windows whose targets lie in [from, to); null when there is none. */
export function windowOrigins(
  from: number,
  to: number,
  lookback: number,
  horizon: number,
): { first: number; last: number } | null {
  const first = Math.max(from, lookback);
  const last = to - horizon;
  return last >= first ? { first, last } : null;
}

/** Number of windows whose targets lie in [from, to). */
export function windowCount(from: number, to: number, lookback: number, horizon: number): number {
  const r = windowOrigins(from, to, lookback, horizon);
  return r ? r.last - r.first + 1 : 0;
}

/** The origins as an array (for algorithms' `forecast`). */
export function originList(from: number, to: number, lookback: number, horizon: number): Int32Array {
  const r = windowOrigins(from, to, lookback, horizon);
  if (!r) return new Int32Array(0);
  const out = new Int32Array(r.last - r.first + 1);
  for (let i = 0; i < out.length; i++) out[i] = r.first + i;
  return out;
}

/**
 * Second moments of the full windows z_t = series[t − lookback, t + horizon) over origins first..last, for the
 * closed-form models: `sum[j]` = Σ_t z_t[j] and `gram[j·w + k]` = Σ_t z_t[j]·z_t[k] (w = lookback + horizon).
 * Overlapping windows make the Gram matrix nearly Toeplitz, so each entry follows from its diagonal predecessor in
 * O(1) (add the window entering, drop the one leaving): O(n·w + w²) rather than O(n·w²).
 * The series must be free of NaN over the windows.
 */
export function windowMoments(
  series: Float64Array,
  first: number,
  last: number,
  lookback: number,
  horizon: number,
): { count: number; sum: Float64Array; gram: Float64Array } {
  const w = lookback + horizon;
  const gram = new Float64Array(w * w);
  const sum = new Float64Array(w);
  const count = last - first + 1;
  if (count <= 0) return { count: 0, sum, gram };
  const base = first - lookback; // z_t[j] = series[t − lookback + j]
  for (let j = 0; j < w; j++) {
    let s = 0;
    for (let t = 0; t < count; t++) s += series[base + t + j]!;
    sum[j] = s;
  }
  // First row: direct dot products.
  for (let k = 0; k < w; k++) {
    let s = 0;
    for (let t = 0; t < count; t++) s += series[base + t]! * series[base + t + k]!;
    gram[k] = s;
  }
  // Row j, column k ≥ j: from (j − 1, k − 1), shifting the origin range by one.
  const end = base + count; // first index past the range for offset 0
  for (let j = 1; j < w; j++) {
    for (let k = j; k < w; k++) {
      gram[j * w + k] =
        gram[(j - 1) * w + (k - 1)]! +
        series[end + j - 1]! * series[end + k - 1]! -
        series[base + j - 1]! * series[base + k - 1]!;
    }
  }
  for (let j = 0; j < w; j++) for (let k = 0; k < j; k++) gram[j * w + k] = gram[k * w + j]!;
  return { count, sum, gram };
}
