import type { FitInput } from './data.js';
import { forecastFrom, type ForecastModelArtifact } from './ml/forecast/train.js';
import { predictRows } from './ml/tabular/predict.js';
import type { TabularModelArtifact } from './ml/tabular/train.js';
import type { ModelChartData } from './charts.js';

/**
 * The charts that need the model run again on the data it learned from: the forecast of the test part's last
 * window (the model forecasts the last `horizon` steps from what precedes them, so the window is data the model
 * never fitted on) and the residuals of the test part.
 */

/** Actual values shown before the forecast origin, in horizons (enough to see the forecast continue a pattern). */
const CONTEXT_HORIZONS = 3;
/** Residual points drawn at most (the last ones of the test part). */
export const MAX_RESIDUAL_POINTS = 5_000;

interface LastWindow {
  cut: number;
  times: Float64Array | null;
  forecast: ReturnType<typeof forecastFrom>;
}

function lastWindow(artifact: ForecastModelArtifact, data: Extract<FitInput, { kind: 'forecast' }>): LastWindow {
  const { series, times, exogenous } = data.input;
  const n = series[0]?.length ?? 0;
  const cut = n - artifact.horizon;
  if (cut < 1) throw new RangeError(`the data (${n} steps) is not longer than the horizon (${artifact.horizon})`);
  const lastTime = times ? times[cut - 1]! : null;
  const history = series.map((s) => s.subarray(0, cut));
  // The covariates' history ends where the target's does.
  const covariates = exogenous?.map((x) => ({ name: x.name, values: x.values.subarray(0, cut) }));
  return { cut, times, forecast: forecastFrom(artifact, history, artifact.horizon, lastTime, undefined, covariates) };
}

const finite = (v: number): number | null => (Number.isFinite(v) ? v : null);

/** Actual vs forecast of the first series over the last window, with the widest interval band. */
export function forecastWindowChart(
  artifact: ForecastModelArtifact,
  data: Extract<FitInput, { kind: 'forecast' }>,
): ModelChartData {
  const { cut, times, forecast } = lastWindow(artifact, data);
  const actualSeries = data.input.series[0]!;
  const xOf = (i: number) => (times ? times[i]! : i);
  const from = Math.max(0, cut - CONTEXT_HORIZONS * artifact.horizon);
  const actual = Array.from({ length: actualSeries.length - from }, (_, k) => ({
    x: xOf(from + k),
    value: finite(actualSeries[from + k]!),
  }));
  const first = forecast.series[0]!;
  const stepX = (h: number) => forecast.times?.[h] ?? (times ? times[cut + h]! : cut + h);
  const widest = [...first.intervals].sort((a, b) => b.level - a.level)[0];
  return {
    kind: 'forecast',
    series: first.name,
    temporal: times !== null,
    actual,
    forecast: first.values.map((value, h) => ({ x: stepX(h), value })),
    level: widest?.level ?? null,
    band: widest ? widest.lower.map((lower, h) => ({ x: stepX(h), lower, upper: widest.upper[h]! })) : [],
  };
}

/** Forecast residuals (actual − forecast) per horizon step over the last window, every series. */
export function forecastResidualsChart(
  artifact: ForecastModelArtifact,
  data: Extract<FitInput, { kind: 'forecast' }>,
): ModelChartData {
  const { cut, forecast } = lastWindow(artifact, data);
  const points: { x: number; residual: number }[] = [];
  forecast.series.forEach((s, i) =>
    s.values.forEach((predicted, h) => {
      const residual = data.input.series[i]![cut + h]! - predicted;
      if (Number.isFinite(residual)) points.push({ x: h + 1, residual });
    }),
  );
  return { kind: 'residuals', against: 'step', points: points.slice(-MAX_RESIDUAL_POINTS) };
}

/** A row of the training input as predict takes it (JSON values by feature name). */
function rowAt(
  features: Extract<FitInput, { kind: 'tabular' }>['input']['features'],
  r: number,
): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (const f of features) {
    const v = f.values[r];
    if (v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v))) row[f.name] = null;
    else row[f.name] = f.kind === 'boolean' ? v === 1 : v;
  }
  return row;
}

/**
 * Regression residuals against the prediction over the test part (the rows after the validation boundary of the
 * rows that have a target, as training split them).
 */
export function regressionResidualsChart(
  artifact: TabularModelArtifact,
  data: Extract<FitInput, { kind: 'tabular' }>,
): ModelChartData {
  const { features, target, split } = data.input;
  const y = target.values as Float64Array;
  const kept: number[] = [];
  for (let r = 0; r < y.length; r++) if (!Number.isNaN(y[r]!)) kept.push(r);
  const validEnd = split?.validEnd ?? Math.floor(kept.length * 0.8);
  const test = kept.slice(validEnd).slice(-MAX_RESIDUAL_POINTS);
  if (test.length === 0) return { kind: 'residuals', against: 'prediction', points: [] };
  const predictions = predictRows(
    artifact,
    test.map((r) => rowAt(features, r)),
  );
  return {
    kind: 'residuals',
    against: 'prediction',
    points: test.map((r, i) => {
      const predicted = predictions[i]!.prediction as number;
      return { x: predicted, residual: y[r]! - predicted };
    }),
  };
}
