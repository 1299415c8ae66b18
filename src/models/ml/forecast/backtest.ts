/**
 * Evaluation of a fitted forecast algorithm over every origin of a range (stride 1, the LTSF protocol), and
 * rolling-origin backtests for selection. Forecasts are made in the scale the model was fitted in (normalized);
 * errors are reported there and, through each series' scaler, on the original scale.
 */
import { mase, pointErrors } from '../metrics/errors.js';
import type { ScalerState } from '../scaling.js';
import type { FitOptions, ForecastAlgorithm, SeriesProblem } from '../types.js';
import { originList, windowOrigins } from './windows.js';

export interface ForecastEvaluation {
  windows: number;
  normalized: {
    mse: number | null;
    mae: number | null;
    rmse: number | null;
    mape: number | null;
    smape: number | null;
    mase: number | null;
  };
  original: {
    mse: number | null;
    mae: number | null;
    rmse: number | null;
    mape: number | null;
    smape: number | null;
    mase: number | null;
  };
  /** Normalized scale, per horizon step. */
  perStep: { mse: number | null; mae: number | null }[];
}

export interface EvaluationData {
  /** Model inputs per series (normalized, gaps filled). */
  inputs: Float64Array[];
  /** The actual values per series (normalized, NaN where missing): targets are compared with these. */
  actuals: Float64Array[];
  scalers: ScalerState[];
  times: ((index: number) => number) | null;
  lookback: number;
  horizon: number;
  /** Seasonal period for MASE's scale (1 when null). */
  period: number | null;
  /** MASE's scale is the in-sample seasonal naive error on [0, scaleEnd) of each series. */
  scaleEnd: number;
  /** Exogenous covariates (normalized, gaps filled) on the same index, for models fitted with them. */
  exogenous?: Float64Array[] | null;
}

/**
 * Forecasts every window whose targets lie in [from, to) of every series and compares with the actual values.
 * Returns also the forecasts (normalized), series-major then origin-major, for residual analysis.
 */
export function evaluateForecast(
  algorithm: ForecastAlgorithm,
  artifact: unknown,
  data: EvaluationData,
  from: number,
  to: number,
): { evaluation: ForecastEvaluation; forecasts: Float64Array[]; origins: Int32Array } {
  const { horizon: H, lookback } = data;
  const origins = originList(from, to, Math.max(lookback, algorithm.minHistory(data)), H);
  const n = origins.length * H;
  const total = n * data.inputs.length;
  const actualN = new Float64Array(total);
  const predN = new Float64Array(total);
  const actualO = new Float64Array(total);
  const predO = new Float64Array(total);
  const forecasts: Float64Array[] = [];
  let maseSum = 0;
  let maseCount = 0;
  for (let s = 0; s < data.inputs.length; s++) {
    const f = algorithm.forecast(artifact, data.inputs[s]!, origins, H, data.times, data.exogenous ?? null);
    forecasts.push(f);
    const actual = data.actuals[s]!;
    const sc = data.scalers[s]!;
    const a = new Float64Array(n);
    for (let o = 0; o < origins.length; o++)
      for (let h = 0; h < H; h++) {
        const r = o * H + h;
        const v = actual[origins[o]! + h]!;
        a[r] = v;
        actualN[s * n + r] = v;
        predN[s * n + r] = f[r]!;
        actualO[s * n + r] = v * sc.scale + sc.center;
        predO[s * n + r] = f[r]! * sc.scale + sc.center;
      }
    // MASE is scale-free: computed per series on the normalized values and averaged.
    const m = mase(a, f, actual.subarray(0, data.scaleEnd), data.period ?? 1);
    if (m !== null) {
      maseSum += m;
      maseCount++;
    }
  }
  const maseValue = maseCount > 0 ? maseSum / maseCount : null;
  const en = pointErrors(actualN, predN);
  const eo = pointErrors(actualO, predO);
  const perStep: ForecastEvaluation['perStep'] = [];
  for (let h = 0; h < H; h++) {
    let se = 0;
    let ae = 0;
    let c = 0;
    for (let s = 0; s < data.inputs.length; s++)
      for (let o = 0; o < origins.length; o++) {
        const r = s * n + o * H + h;
        const e = actualN[r]! - predN[r]!;
        if (Number.isNaN(e)) continue;
        se += e * e;
        ae += Math.abs(e);
        c++;
      }
    perStep.push({ mse: c > 0 ? se / c : null, mae: c > 0 ? ae / c : null });
  }
  const pick = (e: typeof en) => ({
    mse: e.mse,
    mae: e.mae,
    rmse: e.rmse,
    mape: e.mape,
    smape: e.smape,
    mase: maseValue,
  });
  return {
    evaluation: { windows: origins.length, normalized: pick(en), original: pick(eo), perStep },
    forecasts,
    origins,
  };
}

/**
 * Rolling-origin folds over [0, end): fold k evaluates the block [cut_k, cut_k + block) and may fit on [0, cut_k).
 * Blocks are `horizon`-aligned tails of equal length, the last ending at `end`.
 */
export function rollingOriginFolds(
  end: number,
  folds: number,
  block: number,
  minTrain: number,
): { trainEnd: number; evalEnd: number }[] {
  const out: { trainEnd: number; evalEnd: number }[] = [];
  for (let k = folds - 1; k >= 0; k--) {
    const evalEnd = end - k * block;
    const trainEnd = evalEnd - block;
    if (trainEnd >= minTrain) out.push({ trainEnd, evalEnd });
  }
  return out;
}

/**
 * Rolling-origin backtest: for each fold, fits on [0, trainEnd) (the algorithm's own inner split: the last eighth is
 * its validation part) and measures MSE on the windows whose targets lie in the fold's block. Returns the mean MSE
 * over folds and each fold's.
 */
export async function rollingOriginBacktest(
  algorithm: ForecastAlgorithm,
  problem: SeriesProblem,
  folds: { trainEnd: number; evalEnd: number }[],
  opts: FitOptions,
): Promise<{ mse: number | null; folds: (number | null)[] }> {
  const results: (number | null)[] = [];
  for (let k = 0; k < folds.length; k++) {
    opts.signal?.throwIfAborted();
    const { trainEnd, evalEnd } = folds[k]!;
    const innerTrain = Math.floor(trainEnd * 0.875);
    const sub: SeriesProblem = {
      ...problem,
      series: problem.series.map((s) => s.subarray(0, trainEnd)),
      trainEnd: innerTrain,
      validEnd: trainEnd,
    };
    const artifact = await algorithm.fit(sub, opts);
    const minHistory = Math.max(problem.lookback, algorithm.minHistory(problem));
    if (!windowOrigins(trainEnd, evalEnd, minHistory, problem.horizon)) {
      results.push(null);
      continue;
    }
    const origins = originList(trainEnd, evalEnd, minHistory, problem.horizon);
    const timeOf = problem.times ? (i: number) => problem.times![i]! : null;
    let se = 0;
    let c = 0;
    for (const s of problem.series) {
      const f = algorithm.forecast(artifact, s, origins, problem.horizon, timeOf, problem.exogenous?.series ?? null);
      for (let o = 0; o < origins.length; o++)
        for (let h = 0; h < problem.horizon; h++) {
          const e = s[origins[o]! + h]! - f[o * problem.horizon + h]!;
          if (Number.isNaN(e)) continue;
          se += e * e;
          c++;
        }
    }
    results.push(c > 0 ? se / c : null);
    opts.progress?.({ phase: 'backtesting', algorithm: algorithm.name, iteration: k + 1, of: folds.length });
  }
  const valid = results.filter((r): r is number => r !== null);
  return { mse: valid.length > 0 ? valid.reduce((a, b) => a + b, 0) / valid.length : null, folds: results };
}
