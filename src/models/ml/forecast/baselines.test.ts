import { describe, expect, it } from 'vitest';
import type { SeriesProblem } from '../types.js';
import { drift, meanBaseline, repeatLast, seasonalNaive } from './baselines.js';

function problem(series: Float64Array, period: number | null): SeriesProblem {
  return {
    series: [series],
    trainEnd: Math.floor(series.length * 0.8),
    validEnd: series.length,
    horizon: 4,
    lookback: 8,
    period,
    times: null,
    stepMs: null,
  };
}

describe('forecast baselines', () => {
  const opts = { seed: 1 };
  const seasonal = Float64Array.from({ length: 60 }, (_, i) => [3, -1, 4, 1, -5][i % 5]!);

  it('seasonal naive has zero error on a pure seasonal series', async () => {
    const a = await seasonalNaive.fit(problem(seasonal, 5), opts);
    const origins = [10, 11, 12, 33, 50];
    const f = seasonalNaive.forecast(a, seasonal, origins, 7, null);
    for (let o = 0; o < origins.length; o++)
      for (let h = 0; h < 7; h++) expect(f[o * 7 + h]).toBe(seasonal[origins[o]! + h]);
  });

  it('repeat-last repeats, mean is the fitted mean, drift extends the average change', async () => {
    const trend = Float64Array.from({ length: 20 }, (_, i) => 2 * i + 1);
    expect(Array.from(repeatLast.forecast({}, trend, [5], 3, null))).toEqual([9, 9, 9]);
    const m = await meanBaseline.fit(problem(trend, null), opts);
    expect(m.mean).toBe(20);
    expect(Array.from(drift.forecast({}, trend, [5, 10], 2, null))).toEqual([11, 13, 21, 23]);
  });

  it('seasonal naive without a period falls back to repeat-last', async () => {
    const a = await seasonalNaive.fit(problem(seasonal, null), opts);
    expect(a).toEqual({ period: 1 });
    expect(Array.from(seasonalNaive.forecast(a, seasonal, [3], 2, null))).toEqual([4, 4]);
  });
});
