import { describe, expect, it } from 'vitest';
import { fitScaler } from '../scaling.js';
import type { SeriesProblem } from '../types.js';
import { repeatLast, seasonalNaive } from './baselines.js';
import { evaluateForecast, rollingOriginBacktest, rollingOriginFolds } from './backtest.js';
import { linear } from './linear.js';

describe('backtest', () => {
  it('evaluates every origin on both scales with per-step errors and MASE', () => {
    // x = 0, 1, 2, ... normalized; original = 10 + 2x. Repeat-last misses step h by h + 1.
    const s = Float64Array.from({ length: 30 }, (_, i) => i);
    const scaler = { kind: 'standard' as const, center: 10, scale: 2 };
    const { evaluation, origins } = evaluateForecast(
      repeatLast,
      {},
      {
        inputs: [s],
        actuals: [s],
        scalers: [scaler],
        times: null,
        lookback: 5,
        horizon: 2,
        period: null,
        scaleEnd: 20,
      },
      20,
      30,
    );
    expect(Array.from(origins)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28]);
    expect(evaluation.windows).toBe(9);
    expect(evaluation.perStep).toEqual([
      { mse: 1, mae: 1 },
      { mse: 4, mae: 2 },
    ]);
    expect(evaluation.normalized.mse).toBe(2.5);
    expect(evaluation.original.mse).toBe(10);
    expect(evaluation.original.mae).toBe(3);
    // In-sample naive error on the first 20 values is 1 per step: MASE = MAE = 1.5.
    expect(evaluation.normalized.mase).toBe(1.5);
  });

  it('skips missing actual values', () => {
    const s = Float64Array.from({ length: 12 }, () => 1);
    const actual = Float64Array.from(s);
    actual[10] = NaN;
    const { evaluation } = evaluateForecast(
      repeatLast,
      {},
      {
        inputs: [s],
        actuals: [actual],
        scalers: [fitScaler('none', s)],
        times: null,
        lookback: 2,
        horizon: 1,
        period: null,
        scaleEnd: 8,
      },
      8,
      12,
    );
    expect(evaluation.windows).toBe(4);
    expect(evaluation.normalized.mse).toBe(0);
  });

  it('rolling-origin folds end at the end and respect the minimum training length', () => {
    expect(rollingOriginFolds(100, 3, 10, 50)).toEqual([
      { trainEnd: 70, evalEnd: 80 },
      { trainEnd: 80, evalEnd: 90 },
      { trainEnd: 90, evalEnd: 100 },
    ]);
    expect(rollingOriginFolds(100, 3, 30, 50)).toEqual([{ trainEnd: 70, evalEnd: 100 }]);
  });

  it('backtests over folds: zero error for seasonal naive on a seasonal series, exact for Linear on a trend', async () => {
    const seasonal = Float64Array.from({ length: 400 }, (_, i) => [1, 4, -2, 0][i % 4]!);
    const problem: SeriesProblem = {
      series: [seasonal],
      trainEnd: 280,
      validEnd: 400,
      horizon: 4,
      lookback: 12,
      period: 4,
      times: null,
      stepMs: null,
    };
    const folds = rollingOriginFolds(400, 3, 40, 200);
    const sn = await rollingOriginBacktest(seasonalNaive, problem, folds, { seed: 1 });
    expect(sn).toEqual({ mse: 0, folds: [0, 0, 0] });
    const trend = Float64Array.from({ length: 400 }, (_, i) => 0.05 * i);
    const lin = await rollingOriginBacktest(linear, { ...problem, series: [trend], period: null }, folds, { seed: 1 });
    expect(lin.mse!).toBeLessThan(1e-10);
  });
});
