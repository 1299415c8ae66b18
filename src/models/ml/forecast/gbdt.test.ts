import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { SeriesProblem } from '../types.js';
import { blend, gbdtForecast } from './gbdt.js';
import { CV_FOLDS, linearEnsemble } from './linear.js';

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1);

/** A daily profile that is a step (high 8:00–18:00), not a sinusoid: trees fit it, a short linear window less so. */
function stepProblem(n = 1500, noise = 0): SeriesProblem {
  const rng = new Random(2);
  const series = Float64Array.from({ length: n }, (_, i) => {
    const hour = i % 24;
    return (hour >= 8 && hour < 18 ? 1 : -1) + noise * rng.normal();
  });
  return {
    series: [series.subarray(0, 1200)],
    trainEnd: 1000,
    validEnd: 1200,
    horizon: 6,
    lookback: 48,
    period: 24,
    times: Float64Array.from({ length: n }, (_, i) => T0 + i * HOUR),
    stepMs: HOUR,
  };
}

describe('gbdt forecaster', () => {
  it('fits a daily step profile almost exactly, with a loss curve and gain importance', async () => {
    const problem = stepProblem();
    const artifact = await gbdtForecast.fit(problem, { seed: 1 });
    expect(artifact.validation.mse).toBeLessThan(1e-3);
    const full = stepProblem().times!;
    const history = Float64Array.from({ length: 1300 }, (_, i) => (i % 24 >= 8 && i % 24 < 18 ? 1 : -1));
    const f = gbdtForecast.forecast(artifact, history, [1250], 6, (i) => full[i]!);
    const expected = [0, 1, 2, 3, 4, 5].map((h) => ((1250 + h) % 24 >= 8 && (1250 + h) % 24 < 18 ? 1 : -1));
    f.forEach((v, h) => expect(v).toBeCloseTo(expected[h]!, 1));
    expect(artifact.losses.length).toBeGreaterThan(0);
    expect(artifact.losses[0]!.iteration).toBe(1);
    expect(artifact.importance.every((g) => g.kind === 'gain' && g.value >= 0)).toBe(true);
    expect(artifact.importance.reduce((a, g) => a + g.value, 0)).toBeGreaterThan(0);
    expect(JSON.parse(JSON.stringify(artifact))).toEqual(artifact);
  });

  it('is deterministic for a seed', async () => {
    const a = await gbdtForecast.fit(stepProblem(1500, 0.3), { seed: 5, params: { subsample: 0.8 } });
    const b = await gbdtForecast.fit(stepProblem(1500, 0.3), { seed: 5, params: { subsample: 0.8 } });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('refuses an unknown parameter as a pointer to it', async () => {
    await expect(gbdtForecast.fit(stepProblem(), { seed: 1, params: { depth: 3 } })).rejects.toMatchObject({
      pointer: '/params/depth',
    });
  });
});

describe('blend', () => {
  it('picks the weight with the lowest validation MSE and forecasts the weighted sum of its parts', async () => {
    const problem = stepProblem(1500, 0.3);
    const artifact = await blend.fit(problem, { seed: 1 });
    expect(artifact.validation.curve).toHaveLength(11);
    const curve = artifact.validation.curve.map((v) => v!);
    expect(artifact.validation.mse).toBe(Math.min(...curve));
    expect(curve[Math.round(artifact.weight * 10)]).toBe(Math.min(...curve));
    const ensemble = await linearEnsemble.fit(problem, { seed: 1 });
    expect(artifact.linear.weights).toEqual(ensemble.weights);
    const times = (i: number) => T0 + i * HOUR;
    const s = problem.series[0]!;
    const origins = [1100, 1150];
    const got = blend.forecast(artifact, s, origins, 6, times);
    const a = linearEnsemble.forecast(ensemble, s, origins, 6, times);
    const b = gbdtForecast.forecast(artifact.trees, s, origins, 6, times);
    got.forEach((v, i) => expect(v).toBeCloseTo(artifact.weight * a[i]! + (1 - artifact.weight) * b[i]!, 12));
  });

  it('is weighed on the cross-validation folds, the same windows the trees and the ensemble are scored on', async () => {
    const problem = stepProblem(1500, 0.3);
    const artifact = await blend.fit(problem, { seed: 1 });
    const ensemble = await linearEnsemble.fit(problem, { seed: 1 });
    expect(artifact.trees.validation.blocks).toHaveLength(CV_FOLDS);
    expect(ensemble.validation.blocks).toHaveLength(CV_FOLDS);
    expect(artifact.validation.blocks).toHaveLength(CV_FOLDS);
    // Weight 0 is the trees alone: their fold forecasts, scored exactly as the trees' own validation MSE.
    expect(artifact.validation.curve[0]).toBeCloseTo(artifact.trees.validation.mse, 12);
    // The step profile: the trees' folds beat a repeat of the last value by far (out-of-sample, not a refit).
    expect(artifact.trees.validation.mse).toBeLessThan(0.3);
  });

  it('has no parameters of its own', async () => {
    await expect(blend.fit(stepProblem(), { seed: 1, params: { weight: 0.5 } })).rejects.toThrow(/unknown parameter/);
  });
});
