import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { SeriesProblem } from '../types.js';
import { nlinear } from './linear.js';
import { conformalQuantiles, intervalBands, residualsByStep } from './intervals.js';
import { originList } from './windows.js';

describe('split-conformal intervals', () => {
  it('uses the finite-sample rank', () => {
    const q = conformalQuantiles([Float64Array.from([5, 1, 4, 2, 3, NaN, 6, 7, 8, 9, 10])], [0.8, 0.95]);
    // n = 10: ranks ⌈11·0.8⌉ = 9 and ⌈11·0.95⌉ = 11 → capped at 10.
    expect(q.quantiles).toEqual([[9], [10]]);
    expect(intervalBands(q, [100], [0.8])).toEqual([{ level: 0.8, lower: [91], upper: [109] }]);
    expect(() => intervalBands(q, [1], [0.5])).toThrow(/no interval at level 0.5/);
  });

  it('covers near the nominal level on held-out windows of an AR(1) series', async () => {
    const rng = new Random(42);
    const n = 20000;
    const s = new Float64Array(n);
    for (let i = 1; i < n; i++) s[i] = 0.8 * s[i - 1]! + rng.normal();
    const L = 16;
    const H = 4;
    const trainEnd = 6000;
    const calEnd = 10000;
    const problem: SeriesProblem = {
      series: [s.subarray(0, trainEnd)],
      trainEnd: 5000,
      validEnd: trainEnd,
      horizon: H,
      lookback: L,
      period: null,
      times: null,
      stepMs: null,
    };
    const a = await nlinear.fit(problem, { seed: 1 });
    // Calibrate on non-overlapping windows (stride H) so residuals are close to exchangeable.
    const calOrigins = originList(trainEnd, calEnd, L, H).filter((_, i) => i % H === 0);
    const cal = nlinear.forecast(a, s, calOrigins, H, null);
    const model = conformalQuantiles(residualsByStep([s], [cal], calOrigins, H), [0.8, 0.95]);
    const testOrigins = originList(calEnd, n, L, H).filter((_, i) => i % H === 0);
    const test = nlinear.forecast(a, s, testOrigins, H, null);
    for (const [li, level] of [0.8, 0.95].entries()) {
      let covered = 0;
      let total = 0;
      for (let o = 0; o < testOrigins.length; o++)
        for (let h = 0; h < H; h++) {
          total++;
          if (Math.abs(s[testOrigins[o]! + h]! - test[o * H + h]!) <= model.quantiles[li]![h]!) covered++;
        }
      const coverage = covered / total;
      expect(coverage).toBeGreaterThan(level - 0.02);
      expect(coverage).toBeLessThan(level + 0.02);
    }
  });
});
