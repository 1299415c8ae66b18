import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { SeriesProblem } from '../types.js';
import { ridgeSolve } from '../linalg.js';
import {
  crossValidationFolds,
  CV_FOLDS,
  dlinear,
  ensembleSubsets,
  linear,
  linearEnsemble,
  nlinear,
  oneStandardErrorChoice,
  scoredSteps,
} from './linear.js';
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

describe('cross-validated selection', () => {
  it('folds partition the origins and drop every window sharing a value with the held-out block', () => {
    const L = 24;
    const H = 6;
    const folds = crossValidationFolds(24, 1023, L, H)!;
    expect(folds).toHaveLength(CV_FOLDS);
    expect(folds[0]!.held.first).toBe(24);
    expect(folds.at(-1)!.held.last).toBe(1023);
    for (let b = 1; b < folds.length; b++) expect(folds[b]!.held.first).toBe(folds[b - 1]!.held.last + 1);
    for (const { held, dropped } of folds)
      for (let t = 24; t <= 1023; t++) {
        // Window t reads [t − L, t + H); the block reads [held.first − L, held.last + H).
        const overlaps = t - L < held.last + H && held.first - L < t + H;
        const kept = t < dropped.first || t > dropped.last;
        expect(kept).toBe(!overlaps);
      }
    // Too few windows to keep half of them outside a fold's dropped range: no folds.
    expect(crossValidationFolds(24, 200, L, H)).toBeNull();
  });

  it("the folds' MSE from moments equals explicit ridge fits on the kept windows", async () => {
    const rng = new Random(21);
    const n = 700;
    const s = Float64Array.from({ length: n }, (_, i) => Math.sin(i / 7) + 0.002 * i + 0.2 * rng.normal());
    const L = 8;
    const H = 3;
    const problem: SeriesProblem = { ...problemOf(s), trainEnd: 500, validEnd: 600, lookback: L, horizon: H };
    const a = await linear.fit(problem, { seed: 1, params: { lambda: 0.1, calendar: false } });
    const folds = crossValidationFolds(L, 600 - H, L, H)!;
    const dim = L + 1;
    const features = (t: number) => [...s.subarray(t - L, t), 1];
    folds.forEach(({ held, dropped }, b) => {
      const g = new Float64Array(dim * dim);
      const c = new Float64Array(dim * H);
      let count = 0;
      for (let t = L; t <= 600 - H; t++) {
        if (t >= dropped.first && t <= dropped.last) continue;
        const f = features(t);
        for (let i = 0; i < dim; i++) {
          for (let j = 0; j < dim; j++) g[i * dim + j]! += f[i]! * f[j]!;
          for (let h = 0; h < H; h++) c[i * H + h]! += f[i]! * s[t + h]!;
        }
        count++;
      }
      const penalty = Array.from({ length: dim }, (_, i) => (i < L ? 1 : 0));
      const w = ridgeSolve(g, c, dim, H, 0.1 * count, penalty);
      let se = 0;
      for (let t = held.first; t <= held.last; t++) {
        const f = features(t);
        for (let h = 0; h < H; h++) se += (f.reduce((acc, v, i) => acc + v * w[i * H + h]!, 0) - s[t + h]!) ** 2;
      }
      expect(a.validation.blocks[b]).toBeCloseTo(se / ((held.last - held.first + 1) * H), 9);
    });
  });

  it('scores every step up to 96, else every k-th step ending at the last', () => {
    expect(scoredSteps(48)).toEqual(Array.from({ length: 48 }, (_, h) => h));
    const steps = scoredSteps(720);
    expect(steps.length).toBeLessThanOrEqual(96);
    expect(steps.at(-1)).toBe(719);
    expect(steps[1]! - steps[0]!).toBe(8);
  });

  it('one-standard-error rule: the first candidate within noise of the best, else the best', () => {
    expect(ensembleSubsets(3)).toEqual([[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]);
    // Candidate 1 is best by 0.002 with per-block differences that swing both ways: candidate 0 is within one SE.
    const noisy = [
      { mse: 0.302, blocks: [0.3, 0.31, 0.29, 0.31, 0.3] },
      { mse: 0.3, blocks: [0.31, 0.29, 0.3, 0.29, 0.31] },
    ];
    expect(oneStandardErrorChoice(noisy)).toBe(0);
    // Better on every block by a steady margin: the best is kept.
    const steady = [
      { mse: 0.31, blocks: [0.31, 0.32, 0.3, 0.31, 0.31] },
      { mse: 0.3, blocks: [0.3, 0.31, 0.29, 0.3, 0.3] },
    ];
    expect(oneStandardErrorChoice(steady)).toBe(1);
  });

  it('prefers the level-free NLinear when the level moves outside the one seen by a fit', async () => {
    // A random walk with a slow daily wiggle: the level wanders, so an intercept that pulls forecasts back to a fitted
    // mean hurts on folds whose level lies elsewhere.
    const rng = new Random(4);
    const n = 3000;
    const s = new Float64Array(n);
    for (let i = 1; i < n; i++) s[i] = s[i - 1]! + 0.1 * rng.normal();
    const problem = { ...problemOf(s), lookback: 24, horizon: 12 };
    const a = await linearEnsemble.fit(problem, { seed: 1, params: { calendar: false } });
    expect((a.params['members'] as { kind: string }[])[0]!.kind).toBe('nlinear');
  });
});
