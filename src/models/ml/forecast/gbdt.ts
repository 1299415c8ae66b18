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
import {
  crossValidationFolds,
  CV_FOLDS,
  fitEnsemble,
  forecastLinear,
  scoredSteps,
  type LinearArtifact,
} from './linear.js';
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

/**
 * Origins of several ranges (inclusive), every `stride`-th counted back from the last of each, so that
 * origins × horizon × series ≤ cap over all of them.
 */
function stridedRanges(problem: SeriesProblem, ranges: { first: number; last: number }[], cap: number): Int32Array {
  const kept = ranges.filter((r) => r.last >= r.first);
  const count = kept.reduce((a, r) => a + r.last - r.first + 1, 0);
  const stride = Math.max(1, Math.ceil((count * problem.horizon * problem.series.length) / cap));
  const out: number[] = [];
  for (const r of kept) {
    const part: number[] = [];
    for (let t = r.last; t >= r.first; t -= stride) part.push(t);
    out.push(...part.reverse());
  }
  return Int32Array.from(out);
}

/**
 * The trees' out-of-sample forecasts on the cross-validation folds of linear.ts (the same held-out blocks, the same
 * scored steps): per fold, a fit on a strided sample of the windows that share no value with the block, with the
 * number of rounds of the main fit (no early stopping on the block it is scored on), forecasting a strided sample of
 * the block. What the blend weighs its parts on, and the trees' validation MSE, comparable with the linear family's.
 */
interface TreeFolds {
  steps: number[];
  folds: { origins: Int32Array; forecasts: Float64Array[] }[];
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
const fitted = new WeakMap<SeriesProblem, Map<string, Promise<FittedTrees>>>();

interface FittedTrees {
  artifact: GbdtForecastArtifact;
  folds: TreeFolds | null;
}

function fitTrees(problem: SeriesProblem, opts: FitOptions): Promise<FittedTrees> {
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

async function computeTrees(problem: SeriesProblem, opts: FitOptions): Promise<FittedTrees> {
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
  const folds = await crossValidateTrees(problem, spec, {
    ...opts,
    params: { ...params, rounds: Math.max(1, model.rounds), earlyStoppingRounds: 0 },
  });
  const cv = folds
    ? foldsMse(
        problem,
        folds,
        folds.folds.map((f) => f.forecasts),
      )
    : null;
  const artifact: GbdtForecastArtifact = {
    kind: 'gbdt-forecast',
    spec,
    lookback: problem.lookback,
    horizon: problem.horizon,
    model,
    params: { ...model.params, rounds: model.rounds, trainRows: train.x.rows, validationRows: validation.x.rows },
    validation: cv ?? { mse, blocks: [] },
    losses: model.losses.map((l) => ({ iteration: l.iteration, train: l.train, validation: l.validation })),
    importance: names.map((feature, i) => ({ feature, value: gains[i] ?? 0, kind: 'gain' as const })),
  };
  return { artifact, folds };
}

async function crossValidateTrees(
  problem: SeriesProblem,
  spec: LagFeatureSpec,
  opts: FitOptions,
): Promise<TreeFolds | null> {
  const range = windowOrigins(0, problem.validEnd, problem.lookback, problem.horizon);
  const folds = range && crossValidationFolds(range.first, range.last, problem.lookback, problem.horizon);
  if (!range || !folds) return null;
  const steps = scoredSteps(problem.horizon);
  const names = lagFeatureNames(spec);
  const out: TreeFolds['folds'] = [];
  for (const { held, dropped } of folds) {
    const trainOrigins = stridedRanges(
      problem,
      [
        { first: range.first, last: dropped.first - 1 },
        { first: dropped.last + 1, last: range.last },
      ],
      TRAIN_ROWS / CV_FOLDS,
    );
    const model = await gbdt.fit(
      {
        task: 'regression',
        classes: 0,
        featureNames: names,
        categorical: names.map(() => false),
        train: rowsOf(spec, problem, trainOrigins),
        validation: { x: { rows: 0, columns: names.map(() => new Float64Array(0)) }, y: new Float64Array(0) },
      },
      opts,
    );
    const origins = stridedRanges(problem, [held], VALID_ROWS / CV_FOLDS);
    const timeOf = problem.times ? (i: number) => problem.times![i]! : null;
    const forecasts = problem.series.map((s) => {
      const { x, base } = buildLagFeatures(spec, s, origins, problem.horizon, timeOf);
      const p = predictGbdt(model, x);
      const scored = new Float64Array(origins.length * steps.length);
      for (let o = 0; o < origins.length; o++)
        steps.forEach(
          (h, k) => (scored[o * steps.length + k] = p[o * problem.horizon + h]! + base[o * problem.horizon + h]!),
        );
      return scored;
    });
    out.push({ origins, forecasts });
  }
  return { steps, folds: out };
}

/** Per-fold MSE (scored steps) of forecasts laid out as TreeFolds' (fold → series → origin × step), and their mean. */
function foldsMse(
  problem: SeriesProblem,
  folds: TreeFolds,
  forecasts: Float64Array[][],
): { mse: number; blocks: number[] } {
  const { steps } = folds;
  let sum = 0;
  let count = 0;
  const blocks = folds.folds.map((f, b) => {
    let se = 0;
    let n = 0;
    problem.series.forEach((s, i) => {
      const p = forecasts[b]![i]!;
      for (let o = 0; o < f.origins.length; o++)
        steps.forEach((h, k) => {
          se += (s[f.origins[o]! + h]! - p[o * steps.length + k]!) ** 2;
          n++;
        });
    });
    sum += se;
    count += n;
    return n > 0 ? se / n : NaN;
  });
  return { mse: count > 0 ? sum / count : NaN, blocks };
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
  fit: async (problem, opts) => (await fitTrees(problem, opts)).artifact,
  forecast: forecastTrees,
};

/**
 * α·(linear ensemble) + (1 − α)·(trees), α chosen on forecasts of windows neither part was fitted on: the
 * cross-validation folds when the series is long enough for them (the parts' fold forecasts), else the strided
 * validation windows from forecasts of the train-only linear ensemble and of the trees (fitted on train, stopped
 * early on validation). The blend's parameters are not user-settable: params go to neither part.
 */
export const blend: ForecastAlgorithm<BlendArtifact> = {
  name: 'blend',
  minHistory: (p) => p.lookback,
  async fit(problem, opts) {
    if (opts.params && Object.keys(opts.params).length > 0)
      throw new RangeError(`unknown parameter "${Object.keys(opts.params)[0]}"`);
    const inner = { ...opts, params: undefined };
    const linearFit = fitEnsemble(problem, inner);
    const { artifact: trees, folds } = await fitTrees(problem, inner);
    const timeOf = problem.times ? (i: number) => problem.times![i]! : null;
    const exogenous = problem.exogenous?.series;
    // Squared errors per weight and per block: cross-validation folds when both parts have them, else one block of
    // validation windows forecast by the train-only ensemble and the trees (fitted on train).
    const blockSse: Float64Array[] = [];
    const blockCount: number[] = [];
    const accumulate = (actual: number, a: number, b: number, block: number) => {
      const sse = blockSse[block]!;
      BLEND_WEIGHTS.forEach((w, k) => (sse[k]! += (actual - w * a - (1 - w) * b) ** 2));
      blockCount[block]!++;
    };
    if (folds && linearFit.folds) {
      folds.folds.forEach((f, b) => {
        blockSse.push(new Float64Array(BLEND_WEIGHTS.length));
        blockCount.push(0);
        const steps = folds.steps;
        problem.series.forEach((s, i) => {
          const a = forecastLinear(linearFit.folds![b]!, s, f.origins, steps.length, timeOf, exogenous);
          const t = f.forecasts[i]!;
          for (let o = 0; o < f.origins.length; o++)
            steps.forEach((h, k) =>
              accumulate(s[f.origins[o]! + h]!, a[o * steps.length + k]!, t[o * steps.length + k]!, b),
            );
        });
      });
    } else {
      blockSse.push(new Float64Array(BLEND_WEIGHTS.length));
      blockCount.push(0);
      const origins = stridedOrigins(problem, problem.trainEnd, problem.validEnd, VALID_ROWS);
      for (const s of problem.series) {
        const a = forecastLinear(linearFit.trainOnly, s, origins, problem.horizon, timeOf, exogenous);
        const b = forecastTrees(trees, s, origins, problem.horizon, timeOf);
        for (let o = 0; o < origins.length; o++)
          for (let h = 0; h < problem.horizon; h++) {
            const r = o * problem.horizon + h;
            accumulate(s[origins[o]! + h]!, a[r]!, b[r]!, 0);
          }
      }
    }
    const count = blockCount.reduce((a, c) => a + c, 0);
    const sse = BLEND_WEIGHTS.map((_, k) => blockSse.reduce((a, b) => a + b[k]!, 0));
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
      validation: {
        mse: curve[best] ?? NaN,
        blocks: blockSse.length > 1 ? blockSse.map((b, i) => b[best]! / blockCount[i]!) : [],
        curve,
      },
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
