import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { SeriesProblem } from '../types.js';
import { ridgeSolve } from '../linalg.js';
import { dlinear, linear, linearEnsemble, nlinear } from './linear.js';
import { originList } from './windows.js';

const HOUR = 3_600_000;

function problemOf(series: Float64Array, opts: Partial<SeriesProblem> = {}): SeriesProblem {
  return {
    series: [series],
    trainEnd: Math.floor(series.length * 0.7),
    validEnd: Math.floor(series.length * 0.8),
    horizon: 6,
    lookback: 24,
    period: null,
    times: null,
    stepMs: null,
    ...opts,
  };
}

describe('linear family', () => {
  it('Linear forecasts a pure linear trend exactly (1e-6), also beyond the training range', async () => {
    const trend = Float64Array.from({ length: 400 }, (_, i) => 0.01 * i - 1.5);
    const problem = problemOf(trend.subarray(0, 320));
    const a = await linear.fit(problem, { seed: 1 });
    const origins = originList(320, 400, 24, 6);
    const f = linear.forecast(a, trend, origins, 6, null);
    for (let o = 0; o < origins.length; o++)
      for (let h = 0; h < 6; h++) expect(Math.abs(f[o * 6 + h]! - trend[origins[o]! + h]!)).toBeLessThan(1e-6);
  });

  it('recovers an AR(2) process near its noise floor, and NLinear/DLinear/ensemble fit too', async () => {
    const rng = new Random(7);
    const n = 3000;
    const s = new Float64Array(n);
    for (let i = 2; i < n; i++) s[i] = 1.2 * s[i - 1]! - 0.5 * s[i - 2]! + 0.1 * rng.normal();
    const problem = { ...problemOf(s.subarray(0, 2400)), horizon: 1 };
    const origins = originList(2400, n, 24, 1);
    for (const alg of [linear, nlinear, dlinear, linearEnsemble]) {
      const a = await alg.fit(problem, { seed: 1 });
      const f = alg.forecast(a, s, origins, 1, null);
      let se = 0;
      for (let o = 0; o < origins.length; o++) se += (f[o]! - s[origins[o]!]!) ** 2;
      // Noise variance 0.01: one-step MSE must be within 15% of it.
      expect(se / origins.length).toBeLessThan(0.0115);
      expect(a.validation.mse).toBeLessThan(0.0115);
    }
  });

  it('uses calendar terms when they help on validation: an hour-of-day profile', async () => {
    const rng = new Random(11);
    const n = 24 * 200;
    const times = Float64Array.from({ length: n }, (_, i) => Date.UTC(2020, 0, 1) + i * HOUR);
    const profile = Array.from({ length: 24 }, () => rng.normal());
    const s = Float64Array.from({ length: n }, (_, i) => profile[i % 24]! + 0.3 * rng.normal());
    const problem = problemOf(s.subarray(0, 4000), { times, stepMs: HOUR, period: 24, lookback: 12 });
    const a = await linear.fit(problem, { seed: 1 });
    expect(a.params['calendar']).toBe(true);
    expect(a.calendar[0]).toEqual({ unitMs: HOUR, cycle: 24 });
    expect(a.validation.mse).toBeLessThan(0.1);
    expect(() => linear.forecast(a, s, [4100], 6, null)).toThrow(/needs times/);
  });

  it('is deterministic, JSON, and refuses unknown parameters or a too-short training part', async () => {
    const rng = new Random(3);
    const s = Float64Array.from({ length: 500 }, () => rng.normal());
    const a1 = await dlinear.fit(problemOf(s), { seed: 1 });
    const a2 = await dlinear.fit(problemOf(s), { seed: 2 });
    expect(JSON.stringify(a1)).toBe(JSON.stringify(a2));
    expect(JSON.parse(JSON.stringify(a1))).toEqual(a1);
    await expect(async () => linear.fit(problemOf(s), { seed: 1, params: { foo: 1 } })).rejects.toThrow(
      /unknown parameter/,
    );
    await expect(async () => linear.fit(problemOf(s.subarray(0, 40)), { seed: 1 })).rejects.toThrow(
      /no complete training window/,
    );
  });

  it('DLinear in the lookback space equals the explicit ridge on trend and remainder features', async () => {
    const rng = new Random(5);
    const s = Float64Array.from({ length: 300 }, (_, i) => Math.sin(i / 5) + 0.3 * rng.normal());
    const L = 9;
    const problem = { ...problemOf(s), lookback: L, horizon: 1 };
    const a = await dlinear.fit(problem, { seed: 1, params: { lambda: 0.1, calendar: false } });
    // Explicit: features [M·x, (I − M)·x, 1] over every window with its target before validEnd (the refit).
    const trend = (x: number[]) =>
      x.map((_, j) => {
        let t = 0;
        for (let i = -4; i <= 4; i++) t += x[Math.min(L - 1, Math.max(0, j + i))]! / 9;
        return t;
      });
    const dim = 2 * L + 1;
    const g = new Float64Array(dim * dim);
    const c = new Float64Array(dim);
    let count = 0;
    for (let t = L; t < problem.validEnd; t++) {
      const x = Array.from(s.subarray(t - L, t));
      const tr = trend(x);
      const f = [...tr, ...x.map((v, j) => v - tr[j]!), 1];
      for (let i = 0; i < dim; i++) {
        c[i]! += f[i]! * s[t]!;
        for (let j = 0; j < dim; j++) g[i * dim + j]! += f[i]! * f[j]!;
      }
      count++;
    }
    const penalty = Array.from({ length: dim }, (_, i) => (i < 2 * L ? 1 : 0));
    const w = ridgeSolve(g, c, dim, 1, 0.1 * count, penalty);
    for (const t of [150, 200, 290]) {
      const x = Array.from(s.subarray(t - L, t));
      const tr = trend(x);
      const f = [...tr, ...x.map((v, j) => v - tr[j]!), 1];
      const expected = f.reduce((acc, v, i) => acc + v * w[i]!, 0);
      expect(dlinear.forecast(a, s, [t], 1, null)[0]).toBeCloseTo(expected, 8);
    }
  });
});
