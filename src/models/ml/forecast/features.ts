/**
 * Lag, rolling-statistic and calendar features for tree forecasting (the GBDT of src/models/ml/gbdt fits the
 * Matrix). Strategy: direct multi-horizon with the step as a feature. One row per (origin t, step h): the features
 * describe the history before t and the calendar of the target time t + h; the target is series[t + h] minus the last
 * value series[t − 1] (trees cannot extrapolate a level, a difference they can). One model serves every step, and
 * there is no recursion, so errors do not compound. Forecast = prediction + last value.
 */
import type { Matrix } from '../types.js';

export interface LagFeatureSpec {
  /** Lags 1..lags (series[t − 1], ..., series[t − lags]). */
  lags: number;
  /** Seasonal lags: series[t + h − k·period] for k = 1, 2 (the same phase as the target), when a period is known. */
  period: number | null;
  /** Windows of the rolling mean and standard deviation ending at t − 1. */
  rolling: number[];
  /** Add hour-of-day / day-of-week / month of the target time (needs times). */
  calendar: boolean;
}

export function defaultLagSpec(lookback: number, period: number | null, hasTimes: boolean): LagFeatureSpec {
  const rolling = [Math.min(24, lookback)];
  if (period !== null && period <= lookback && period !== rolling[0]) rolling.push(period);
  return {
    lags: Math.min(lookback, 24),
    period: period !== null && 2 * period <= lookback ? period : null,
    rolling,
    calendar: hasTimes,
  };
}

export function lagFeatureNames(spec: LagFeatureSpec): string[] {
  const names = ['step'];
  for (let k = 1; k <= spec.lags; k++) names.push(`lag_${k}`);
  if (spec.period !== null) names.push('seasonal_lag_1', 'seasonal_lag_2');
  for (const w of spec.rolling) names.push(`rolling_mean_${w}`, `rolling_std_${w}`);
  if (spec.calendar) names.push('hour', 'day_of_week', 'month');
  return names;
}

/** How far back the features reach before an origin. */
export function lagHistory(spec: LagFeatureSpec): number {
  return Math.max(spec.lags, spec.period !== null ? 2 * spec.period : 0, ...spec.rolling);
}

/**
 * Rows for origins × steps 0..horizon−1 (row = o·horizon + h). `target` is series[t + h] − series[t − 1] where it
 * exists (NaN past the series end, so forecasting rows can be built the same way); `base` is series[t − 1].
 */
export function buildLagFeatures(
  spec: LagFeatureSpec,
  series: Float64Array,
  origins: ArrayLike<number>,
  horizon: number,
  times: ((index: number) => number) | null,
): { x: Matrix; target: Float64Array; base: Float64Array } {
  if (spec.calendar && times === null) throw new RangeError('calendar features need times');
  const names = lagFeatureNames(spec);
  const rows = origins.length * horizon;
  const columns = names.map(() => new Float64Array(rows));
  const target = new Float64Array(rows);
  const base = new Float64Array(rows);
  for (let o = 0; o < origins.length; o++) {
    const t = origins[o]!;
    const last = series[t - 1]!;
    // Origin-level features, shared by the horizon rows.
    const shared: number[] = [];
    for (let k = 1; k <= spec.lags; k++) shared.push(series[t - k]! - last);
    const rolling: number[] = [];
    for (const w of spec.rolling) {
      let sum = 0;
      let sq = 0;
      for (let i = t - w; i < t; i++) {
        sum += series[i]!;
        sq += series[i]! * series[i]!;
      }
      const mean = sum / w;
      rolling.push(mean - last, Math.sqrt(Math.max(0, sq / w - mean * mean)));
    }
    for (let h = 0; h < horizon; h++) {
      const r = o * horizon + h;
      let c = 0;
      columns[c++]![r] = h;
      for (const v of shared) columns[c++]![r] = v;
      if (spec.period !== null) {
        // Same phase as the target, one and two seasons back, but never at or after the origin.
        const p = spec.period;
        const k1 = Math.ceil((h + 1) / p);
        columns[c++]![r] = series[t + h - k1 * p]! - last;
        columns[c++]![r] = series[t + h - (k1 + 1) * p]! - last;
      }
      for (const v of rolling) columns[c++]![r] = v;
      if (spec.calendar) {
        const d = new Date(times!(t + h));
        columns[c++]![r] = d.getUTCHours() + d.getUTCMinutes() / 60;
        columns[c++]![r] = d.getUTCDay();
        columns[c++]![r] = d.getUTCMonth();
      }
      target[r] = t + h < series.length ? series[t + h]! - last : NaN;
      base[r] = last;
    }
  }
  return { x: { rows, columns }, target, base };
}
