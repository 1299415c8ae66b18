/**
 * The forecast baselines, trained and reported beside every model. None of them has a hyper-parameter to select;
 * each forecast uses only the history before its origin.
 */
import type { ForecastAlgorithm } from '../types.js';

/** Every horizon step repeats the last observed value. */
export const repeatLast: ForecastAlgorithm<Record<string, never>> = {
  name: 'repeat-last',
  minHistory: () => 1,
  fit: () => Promise.resolve({}),
  forecast(_artifact, series, origins, horizon) {
    const out = new Float64Array(origins.length * horizon);
    for (let o = 0; o < origins.length; o++) out.fill(series[origins[o]! - 1]!, o * horizon, (o + 1) * horizon);
    return out;
  },
};

/** Step h repeats the value one season earlier: series[t − p + (h mod p)]; p = 1 (repeat-last) with no season. */
export const seasonalNaive: ForecastAlgorithm<{ period: number }> = {
  name: 'seasonal-naive',
  minHistory: (p) => Math.max(1, p.period ?? 1),
  fit: (problem) => Promise.resolve({ period: Math.max(1, problem.period ?? 1) }),
  forecast(artifact, series, origins, horizon) {
    const p = artifact.period;
    const out = new Float64Array(origins.length * horizon);
    for (let o = 0; o < origins.length; o++) {
      const t = origins[o]!;
      for (let h = 0; h < horizon; h++) out[o * horizon + h] = series[t - p + (h % p)]!;
    }
    return out;
  },
};

/**
 * The mean of everything the fit is handed (train, or train + validation once refitted), pooled over the series;
 * the forecast is that constant.
 */
export const meanBaseline: ForecastAlgorithm<{ mean: number }> = {
  name: 'mean',
  minHistory: () => 0,
  fit(problem) {
    let sum = 0;
    let n = 0;
    for (const s of problem.series)
      for (let i = 0; i < problem.validEnd; i++)
        if (!Number.isNaN(s[i]!)) {
          sum += s[i]!;
          n++;
        }
    return Promise.resolve({ mean: n > 0 ? sum / n : 0 });
  },
  forecast(artifact, _series, origins, horizon) {
    return new Float64Array(origins.length * horizon).fill(artifact.mean);
  },
};

/** The last value plus the average change over the whole history before the origin, extended per step. */
export const drift: ForecastAlgorithm<Record<string, never>> = {
  name: 'drift',
  minHistory: () => 2,
  fit: () => Promise.resolve({}),
  forecast(_artifact, series, origins, horizon) {
    let first = 0;
    while (first < series.length && Number.isNaN(series[first]!)) first++;
    const out = new Float64Array(origins.length * horizon);
    for (let o = 0; o < origins.length; o++) {
      const t = origins[o]!;
      const last = series[t - 1]!;
      const slope = t - 1 > first ? (last - series[first]!) / (t - 1 - first) : 0;
      for (let h = 0; h < horizon; h++) out[o * horizon + h] = last + slope * (h + 1);
    }
    return out;
  },
};

export const BASELINES: readonly ForecastAlgorithm[] = [
  repeatLast as ForecastAlgorithm,
  seasonalNaive as ForecastAlgorithm,
  meanBaseline as ForecastAlgorithm,
  drift as ForecastAlgorithm,
];
