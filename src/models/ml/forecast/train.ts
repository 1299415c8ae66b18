import { TrainingInputError } from '../errors.js';
import { pointErrors } from '../metrics/errors.js';
import type { TrainingReport } from '../report.js';
import type { FitOptions } from '../types.js';

/*
 * PLACEHOLDER (helper C) until helper A's forecasting lands at this path: the fixed signatures of models.md with
 * repeat-last only, so the model.train flow can be built and tested end to end. The merge replaces this file.
 */

export interface ForecastTrainingInput {
  series: Float64Array[];
  seriesNames: string[];
  times: Float64Array | null;
  stepMs: number | null;
  horizon: number;
  lookback?: number;
  period?: number | null;
  split?: { trainEnd: number; validEnd: number };
  algorithm: string;
  scaling?: 'standard' | 'minmax' | 'robust' | 'none';
  params?: Record<string, unknown>;
  budgetMs?: number;
}

export interface ForecastModelArtifact {
  kind: 'forecast';
  algorithm: string;
  horizon: number;
  stepMs: number | null;
  seriesNames: string[];
  lastTime: number | null;
  intervals: { levels: number[]; quantiles: number[][] };
}

const LEVELS = [0.8, 0.95];

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.ceil(q * (sorted.length + 1)) - 1);
  return sorted[Math.max(0, i)]!;
}

export function trainForecast(
  input: ForecastTrainingInput,
  opts: FitOptions,
): Promise<{ report: TrainingReport; artifact: ForecastModelArtifact }> {
  const n = input.series[0]?.length ?? 0;
  const split = input.split ?? { trainEnd: Math.floor(n * 0.7), validEnd: Math.floor(n * 0.8) };
  if (input.horizon >= n - split.validEnd || split.trainEnd < 1)
    throw new TrainingInputError(
      '/horizon',
      `The horizon (${input.horizon}) is longer than the test part (${n - split.validEnd} steps of ${n})`,
    );
  if (input.algorithm !== 'auto' && input.algorithm !== 'repeat-last')
    throw new TrainingInputError('/algorithm', `Unknown algorithm '${input.algorithm}'`);
  opts.progress?.({ phase: 'fitting', algorithm: 'repeat-last' });
  // |residual| per step over validation origins (split-conformal), and test errors from test origins.
  const residuals: number[][] = Array.from({ length: input.horizon }, () => []);
  const actual: number[] = [];
  const predicted: number[] = [];
  for (const s of input.series) {
    for (let t = Math.max(1, split.trainEnd); t + input.horizon <= split.validEnd; t++)
      for (let h = 0; h < input.horizon; h++) residuals[h]!.push(Math.abs(s[t + h]! - s[t - 1]!));
    for (let t = split.validEnd; t + input.horizon <= n; t++)
      for (let h = 0; h < input.horizon; h++) {
        actual.push(s[t + h]!);
        predicted.push(s[t - 1]!);
      }
  }
  const e = pointErrors(actual, predicted);
  const original = { mse: e.mse, mae: e.mae, rmse: e.rmse, mape: e.mape, smape: e.smape };
  const quantiles = LEVELS.map((level) =>
    residuals.map((r) =>
      quantile(
        [...r].sort((a, b) => a - b),
        level,
      ),
    ),
  );
  const report: TrainingReport = {
    task: 'forecast',
    algorithm: 'repeat-last',
    params: {},
    leaderboard: [{ algorithm: 'repeat-last', params: {}, validation: {}, trainMs: 0, status: 'ok' }],
    metrics: { 'repeat-last': { original, normalized: original, skill: 0 } },
    losses: [],
    importance: [],
    intervals: { levels: LEVELS, quantiles },
    data: {
      rows: n,
      train: split.trainEnd,
      validation: split.validEnd - split.trainEnd,
      test: n - split.validEnd,
      missing: {},
    },
  };
  const lastTime = input.times && input.times.length > 0 ? input.times[input.times.length - 1]! : null;
  return Promise.resolve({
    report,
    artifact: {
      kind: 'forecast',
      algorithm: 'repeat-last',
      horizon: input.horizon,
      stepMs: input.stepMs,
      seriesNames: input.seriesNames,
      lastTime,
      intervals: { levels: LEVELS, quantiles },
    },
  });
}

export function forecastFrom(
  artifact: ForecastModelArtifact,
  history: Float64Array[],
  horizon: number,
  lastTime: number | null,
  levels?: number[],
): {
  times: number[] | null;
  series: { name: string; values: number[]; intervals: { level: number; lower: number[]; upper: number[] }[] }[];
} {
  const wanted = levels ?? artifact.intervals.levels;
  const times =
    lastTime !== null && artifact.stepMs !== null
      ? Array.from({ length: horizon }, (_, h) => lastTime + (h + 1) * artifact.stepMs!)
      : null;
  return {
    times,
    series: history.map((s, i) => {
      const last = s[s.length - 1] ?? NaN;
      const values = new Array<number>(horizon).fill(last);
      const intervals = wanted
        .map((level) => ({ level, index: artifact.intervals.levels.indexOf(level) }))
        .filter((l) => l.index !== -1)
        .map(({ level, index }) => {
          const q = artifact.intervals.quantiles[index]!;
          const width = (h: number) => q[Math.min(h, q.length - 1)] ?? 0;
          return { level, lower: values.map((v, h) => v - width(h)), upper: values.map((v, h) => v + width(h)) };
        });
      return { name: artifact.seriesNames[i] ?? String(i), values, intervals };
    }),
  };
}
