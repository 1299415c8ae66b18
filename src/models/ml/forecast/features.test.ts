import { describe, expect, it } from 'vitest';
import { buildLagFeatures, defaultLagSpec, lagFeatureNames, lagHistory } from './features.js';

describe('lag features for tree forecasting', () => {
  const series = Float64Array.from({ length: 100 }, (_, i) => i * i);
  const HOUR = 3_600_000;
  const times = (i: number) => Date.UTC(2024, 0, 1) + i * HOUR; // a Monday, 00:00 UTC

  it('names and history follow the spec', () => {
    const spec = defaultLagSpec(48, 24, true);
    expect(spec).toEqual({ lags: 24, period: 24, rolling: [24], calendar: true });
    expect(lagFeatureNames(spec).slice(0, 3)).toEqual(['step', 'lag_1', 'lag_2']);
    expect(lagFeatureNames(spec)).toHaveLength(1 + 24 + 2 + 2 + 3);
    expect(lagHistory(spec)).toBe(48);
  });

  it('builds one row per origin and step with differences to the last value, never reading at or past the origin', () => {
    const spec = { lags: 2, period: 3, rolling: [4], calendar: true };
    const { x, target, base } = buildLagFeatures(spec, series, [10, 20], 4, times);
    expect(x.rows).toBe(8);
    const row = (r: number) => x.columns.map((c) => c[r]);
    // Origin 10, step 0: last = 81; lags 81−81, 64−81; seasonal t+h−3 = 7 → 49−81, 4 → 16−81.
    const mean = (36 + 49 + 64 + 81) / 4;
    const std = Math.sqrt((36 ** 2 + 49 ** 2 + 64 ** 2 + 81 ** 2) / 4 - mean * mean);
    expect(row(0)).toEqual([0, 0, -17, -32, -65, mean - 81, std, 10, 1, 0]);
    // Origin 10, step 3 (t + h = 13): seasonal lags 10 − 3·... k1 = 2 → index 7, 4.
    expect(row(3).slice(3, 5)).toEqual([49 - 81, 16 - 81]);
    expect(target[3]).toBe(169 - 81);
    expect(base[7]).toBe(361);
    // Past the end of the series the target is NaN (forecasting rows).
    expect(Number.isNaN(buildLagFeatures(spec, series, [99], 3, times).target[2]!)).toBe(true);
  });

  it('refuses calendar features without times', () => {
    expect(() =>
      buildLagFeatures({ lags: 1, period: null, rolling: [], calendar: true }, series, [5], 1, null),
    ).toThrow(/need times/);
  });
});
