/**
 * Tree forecasting: the GBDT of src/models/ml/gbdt over the lag, rolling and calendar features of features.ts
 * (direct multi-horizon, one model for every step, the step a feature, the target the change from the last value),
 * and a blend of it with the linear ensemble whose weight is chosen on validation.
 *
 * Rows are windows × steps, so long series at long horizons would give millions of rows: origins are taken with a
 * stride so the training part yields at most TRAIN_ROWS rows and the validation part VALID_ROWS (the validation rows
 * drive early stopping and the validation MSE). The stride is deterministic, so is the artifact.
 */
import type { GbdtArtifact } from '../gbdt/artifact.js';
import { gbdt } from '../gbdt/gbdt.js';
import { predictGbdt } from '../gbdt/predict.js';
import type { FitOptions, ForecastAlgorithm, Matrix, SeriesProblem } from '../types.js';
import { buildLagFeatures, defaultLagSpec, lagFeatureNames, lagHistory, type LagFeatureSpec } from './features.js';
import { fitEnsemble, forecastLinear, type LinearArtifact } from './linear.js';
import { windowOrigins } from './windows.js';

const TRAIN_ROWS = 150_000;
const VALID_ROWS = 60_000;
/** Forecasting defaults: the tabular ones (100 rounds, stopped early on validation) with larger leaves. */
const FORECAST_GBDT_DEFAULTS = { minChildWeight: 20 };
/** Blend weights on the linear ensemble, tried on validation. */
const BLEND_WEIGHTS = [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1];

export interface GbdtForecastArtifact {
  kind: 'gbdt-forecast';
  spec: LagFeatureSpec;
  lookback: number;
  horizon: number;
  model: GbdtArtifact;
  params: Record<string, unknown>;
  /** MSE of the strided validation windows (normalized scale). */
  validation: { mse: number; blocks: number[] };
  losses: { iteration: number; train: number | null; validation: number | null }[];
  importance: { feature: string; value: number; kind: 'gain' }[];
}

export interface BlendArtifact {
  kind: 'blend';
  /** Weight of the linear ensemble; the trees get 1 − weight. */
  weight: number;
  lookback: number;
  horizon: number;
  linear: LinearArtifact;
  trees: GbdtForecastArtifact;
  /** The linear ensemble's covariate use (the trees use none), for the orchestration. */
  exogenous?: LinearArtifact['exogenous'];
  params: Record<string, unknown>;
  /** `curve`: validation MSE per weight of BLEND_WEIGHTS. */
  validation: { mse: number; blocks: number[]; curve: (number | null)[] };
}

/** Origins with every target in [from, to), every `stride`-th, so that origins × horizon × series ≤ cap. */
function stridedOrigins(problem: SeriesProblem, from: number, to: number, cap: number): Int32Array {
  const range = windowOrigins(from, to, problem.lookback, problem.horizon);
  if (!range) return new Int32Array(0);
  const count = range.last - range.first + 1;
  const perOrigin = problem.horizon * problem.series.length;
  const stride = Math.max(1, Math.ceil((count * perOrigin) / cap));
  // Counted back from the last origin, so the windows nearest the split are always in.
  const out: number[] = [];
  for (let t = range.last; t >= range.first; t -= stride) out.push(t);
  return Int32Array.from(out.reverse());
}

/** Rows of every series at the given origins, stacked, with their targets (changes from the last value). */
function rowsOf(spec: LagFeatureSpec, problem: SeriesProblem, origins: Int32Array): { x: Matrix; y: Float64Array } {
  const timeOf = problem.times ? (i: number) => problem.times![i]! : null;
  const parts = problem.series.map((s) => buildLagFeatures(spec, s, origins, problem.horizon, timeOf));
  const rows = parts.reduce((a, p) => a + p.x.rows, 0);
  const columns = lagFeatureNames(spec).map((_, c) => {
    const col = new Float64Array(rows);
    let at = 0;
    for (const p of parts) {
      col.set(p.x.columns[c]!, at);
      at += p.x.rows;
    }
    return col;
  });
  const y = new Float64Array(rows);
  let at = 0;
  for (const p of parts) {
    y.set(p.target, at);
    at += p.target.length;
  }
  return { x: { rows, columns }, y };
}

function readGbdtParams(opts: FitOptions): Record<string, unknown> {
  return { ...FORECAST_GBDT_DEFAULTS, ...(opts.params ?? {}) };
}

/** Fits shared between 'gbdt' and 'blend' on the same problem object (as the orchestration passes it). */
const fitted = new WeakMap<SeriesProblem, Map<string, Promise<GbdtForecastArtifact>>>();

function fitTrees(problem: SeriesProblem, opts: FitOptions): Promise<GbdtForecastArtifact> {
  const key = JSON.stringify([opts.seed, readGbdtParams(opts)]);
  let entries = fitted.get(problem);
  if (!entries) fitted.set(problem, (entries = new Map()));
  const known = entries.get(key);
  if (known) return known;
  const promise = computeTrees(problem, opts);
  entries.set(key, promise);
  promise.catch(() => entries.delete(key));
  return promise;
}

async function computeTrees(problem: SeriesProblem, opts: FitOptions): Promise<GbdtForecastArtifact> {
  const spec = defaultLagSpec(problem.lookback, problem.period, problem.times !== null);
  if (lagHistory(spec) > problem.lookback) throw new RangeError('the lookback is shorter than the lag features');
  const trainOrigins = stridedOrigins(problem, 0, problem.trainEnd, TRAIN_ROWS);
  if (trainOrigins.length === 0)
    throw new RangeError('no complete training window: the training part is shorter than lookback + horizon');
  const validOrigins = stridedOrigins(problem, problem.trainEnd, problem.validEnd, VALID_ROWS);
  const train = rowsOf(spec, problem, trainOrigins);
  const validation = rowsOf(spec, problem, validOrigins);
  const params = readGbdtParams(opts);
  const names = lagFeatureNames(spec);
  const model = await gbdt.fit(
    {
      task: 'regression',
      classes: 0,
      featureNames: names,
      categorical: names.map(() => false),
      train,
      validation,
    },
    { ...opts, params },
  );
  const mse = (() => {
    const x = validation.x.rows > 0 ? validation : train;
    const p = predictGbdt(model, x.x);
    let se = 0;
    for (let i = 0; i < p.length; i++) se += (x.y[i]! - p[i]!) ** 2;
    return p.length > 0 ? se / p.length : NaN;
  })();
  const gains = gbdt.importance?.(model) ?? [];
  return {
    kind: 'gbdt-forecast',
    spec,
    lookback: problem.lookback,
    horizon: problem.horizon,
    model,
    params: { ...model.params, rounds: model.rounds, trainRows: train.x.rows, validationRows: validation.x.rows },
    validation: { mse, blocks: [] },
    losses: model.losses.map((l) => ({ iteration: l.iteration, train: l.train, validation: l.validation })),
    importance: names.map((feature, i) => ({ feature, value: gains[i] ?? 0, kind: 'gain' as const })),
  };
}

function forecastTrees(
  artifact: GbdtForecastArtifact,
  series: Float64Array,
  origins: ArrayLike<number>,
  horizon: number,
  times: ((index: number) => number) | null,
): Float64Array {
  if (horizon > artifact.horizon)
    throw new RangeError(`horizon ${horizon} exceeds the trained horizon ${artifact.horizon}`);
  if (artifact.spec.calendar && times === null)
    throw new RangeError('this model uses calendar features and needs times');
  const { x, base } = buildLagFeatures(artifact.spec, series, origins, horizon, times);
  const p = predictGbdt(artifact.model, x);
  for (let i = 0; i < p.length; i++) p[i]! += base[i]!;
  return p;
}

export const gbdtForecast: ForecastAlgorithm<GbdtForecastArtifact> = {
  name: 'gbdt',
  minHistory: (p) => p.lookback,
  fit: (problem, opts) => fitTrees(problem, opts),
  forecast: forecastTrees,
};

/**
 * α·(linear ensemble) + (1 − α)·(trees), α chosen on the strided validation windows from forecasts of the
 * train-only linear ensemble and of the trees (fitted on train, stopped early on validation). The blend's
 * parameters are not user-settable: params go to neither part.
 */
export const blend: ForecastAlgorithm<BlendArtifact> = {
  name: 'blend',
  minHistory: (p) => p.lookback,
  async fit(problem, opts) {
    if (opts.params && Object.keys(opts.params).length > 0)
      throw new RangeError(`unknown parameter "${Object.keys(opts.params)[0]}"`);
    const inner = { ...opts, params: undefined };
    const linearFit = fitEnsemble(problem, inner);
    const trees = await fitTrees(problem, inner);
    const origins = stridedOrigins(problem, problem.trainEnd, problem.validEnd, VALID_ROWS);
    const timeOf = problem.times ? (i: number) => problem.times![i]! : null;
    const sse = new Float64Array(BLEND_WEIGHTS.length);
    let count = 0;
    for (const s of problem.series) {
      const a = forecastLinear(linearFit.trainOnly, s, origins, problem.horizon, timeOf, problem.exogenous?.series);
      const b = forecastTrees(trees, s, origins, problem.horizon, timeOf);
      for (let o = 0; o < origins.length; o++)
        for (let h = 0; h < problem.horizon; h++) {
          const r = o * problem.horizon + h;
          const actual = s[origins[o]! + h]!;
          BLEND_WEIGHTS.forEach((w, k) => (sse[k]! += (actual - w * a[r]! - (1 - w) * b[r]!) ** 2));
          count++;
        }
    }
    const curve = Array.from(sse, (v) => (count > 0 ? v / count : null));
    // Ties go to the larger linear weight (the cheaper, extrapolating part).
    let best = BLEND_WEIGHTS.length - 1;
    for (let k = BLEND_WEIGHTS.length - 1; k >= 0; k--) if (curve[k]! < curve[best]!) best = k;
    const weight = BLEND_WEIGHTS[best]!;
    return {
      kind: 'blend',
      weight,
      lookback: problem.lookback,
      horizon: problem.horizon,
      linear: linearFit.artifact,
      trees,
      ...(linearFit.artifact.exogenous && weight > 0 ? { exogenous: linearFit.artifact.exogenous } : {}),
      params: { weight },
      validation: { mse: curve[best] ?? NaN, blocks: [], curve },
    };
  },
  forecast(artifact, series, origins, horizon, times, exogenous) {
    const w = artifact.weight;
    const b = forecastTrees(artifact.trees, series, origins, horizon, times);
    if (w === 0) return b;
    const a = forecastLinear(artifact.linear, series, origins, horizon, times, exogenous);
    for (let i = 0; i < a.length; i++) a[i] = w * a[i]! + (1 - w) * b[i]!;
    return a;
  },
};
