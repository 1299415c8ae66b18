/**
 * Point-error metrics over paired actual/predicted values. Pairs where either side is NaN (missing) are skipped;
 * a metric with no usable pair, or undefined for the data (MAPE over zeros), is null rather than NaN or Infinity,
 * so it survives JSON and reads as "not available".
 */

export interface PointErrors {
  mse: number | null;
  mae: number | null;
  rmse: number | null;
  /** Mean absolute percentage error, in percent; pairs whose actual is 0 are skipped. */
  mape: number | null;
  /** Symmetric MAPE, in percent (0–200); pairs where both sides are 0 count as 0. */
  smape: number | null;
  count: number;
}

export function pointErrors(actual: ArrayLike<number>, predicted: ArrayLike<number>): PointErrors {
  if (actual.length !== predicted.length) throw new Error('actual and predicted differ in length');
  let n = 0;
  let se = 0;
  let ae = 0;
  let pctN = 0;
  let pct = 0;
  let sym = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? NaN;
    const p = predicted[i] ?? NaN;
    if (Number.isNaN(a) || Number.isNaN(p)) continue;
    const e = a - p;
    n++;
    se += e * e;
    ae += Math.abs(e);
    if (a !== 0) {
      pctN++;
      pct += Math.abs(e / a);
    }
    const denom = Math.abs(a) + Math.abs(p);
    if (denom > 0) sym += (2 * Math.abs(e)) / denom;
  }
  if (n === 0) return { mse: null, mae: null, rmse: null, mape: null, smape: null, count: 0 };
  return {
    mse: se / n,
    mae: ae / n,
    rmse: Math.sqrt(se / n),
    mape: pctN > 0 ? (100 * pct) / pctN : null,
    smape: (100 * sym) / n,
    count: n,
  };
}

/** Coefficient of determination against the mean of the actual values; null with fewer than 2 pairs or no variance. */
export function rSquared(actual: ArrayLike<number>, predicted: ArrayLike<number>): number | null {
  const pairs: [number, number][] = [];
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? NaN;
    const p = predicted[i] ?? NaN;
    if (!Number.isNaN(a) && !Number.isNaN(p)) pairs.push([a, p]);
  }
  const n = pairs.length;
  let sum = 0;
  for (const [a] of pairs) sum += a;
  if (n < 2) return null;
  const mean = sum / n;
  let ssRes = 0;
  let ssTot = 0;
  for (const [a, p] of pairs) {
    ssRes += (a - p) ** 2;
    ssTot += (a - mean) ** 2;
  }
  return ssTot > 0 ? 1 - ssRes / ssTot : null;
}

/**
 * Mean absolute scaled error: MAE divided by the in-sample MAE of the seasonal naive forecast (lag `period`, 1 when
 * there is no season) on the training series. Null when that scale is 0 or cannot be computed.
 */
export function mase(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  trainSeries: ArrayLike<number>,
  period = 1,
): number | null {
  const m = Math.max(1, period);
  let n = 0;
  let scale = 0;
  for (let i = m; i < trainSeries.length; i++) {
    const d = (trainSeries[i] ?? NaN) - (trainSeries[i - m] ?? NaN);
    if (Number.isNaN(d)) continue;
    n++;
    scale += Math.abs(d);
  }
  const mae = pointErrors(actual, predicted).mae;
  if (n === 0 || scale === 0 || mae === null) return null;
  return mae / (scale / n);
}
