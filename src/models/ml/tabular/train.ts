import { TrainingInputError } from '../errors.js';
import { classificationMetrics } from '../metrics/classification.js';
import { pointErrors, rSquared } from '../metrics/errors.js';
import { Random } from '../random.js';
import type { AlgorithmMetrics, LeaderboardEntry, TrainingReport } from '../report.js';
import type { FitOptions, Matrix, TabularAlgorithm, TabularPart, TabularProblem, TabularTask } from '../types.js';
import { TABULAR_ALGORITHMS, TABULAR_BASELINES } from './algorithms.js';
import {
  encodedColumns,
  encodeRows,
  fitEncoders,
  type FeatureEncoder,
  type FeatureKind,
  type RawFeature,
} from './encoding.js';
import { applyScaler, fitScaler, type ColumnScaler, type ScalingKind } from './scaling.js';

type FeatureImportance = TrainingReport['importance'][number];
type LossPoint = TrainingReport['losses'][number];

export interface TabularTrainingInput {
  task: TabularTask;
  features: RawFeature[];
  target: { name: string; values: Float64Array | (string | null)[] };
  /** Rows in the given order; default 70/10/20. */
  split?: { trainEnd: number; validEnd: number };
  algorithm: string;
  scaling?: ScalingKind;
  params?: Record<string, unknown>;
  budgetMs?: number;
}

/** Everything inference needs, plain JSON (stored in the `models/` blob area). */
export interface TabularModelArtifact {
  kind: 'tabular';
  task: TabularTask;
  /** The feature schema a predict request is validated against. */
  features: { name: string; kind: FeatureKind }[];
  encoders: FeatureEncoder[];
  scaler: ColumnScaler;
  target: {
    name: string;
    /** Classification: the class labels, index = class code. */
    classes: string[];
    /** Regression: the model predicts (y − mean) / std, train statistics. */
    mean: number;
    std: number;
  };
  algorithm: string;
  model: unknown;
}

const MIN_ROWS = 10;

/** Regression rows keep finite targets; classification rows keep non-missing labels (as text). */
function targetRows(input: TabularTrainingInput): { keep: number[]; labels: string[] | null; y: number[] } {
  const keep: number[] = [];
  const y: number[] = [];
  const values = input.target.values;
  if (input.task === 'regression') {
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      const n = typeof v === 'number' ? v : v === null ? NaN : Number(v);
      if (Number.isFinite(n)) {
        keep.push(i);
        y.push(n);
      }
    }
    return { keep, labels: null, y };
  }
  const text: string[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || (typeof v === 'number' && Number.isNaN(v))) continue;
    keep.push(i);
    text.push(String(v));
  }
  const labels = [...new Set(text)].sort();
  const code = new Map(labels.map((l, i) => [l, i]));
  return { keep, labels, y: text.map((t) => code.get(t)!) };
}

function pick(values: Float64Array | (string | null)[], rows: number[]): Float64Array | (string | null)[] {
  if (values instanceof Float64Array) return Float64Array.from(rows, (r) => values[r]!);
  return rows.map((r) => values[r] ?? null);
}

function sliceMatrix(x: Matrix, from: number, to: number): Matrix {
  return { rows: to - from, columns: x.columns.map((c) => c.subarray(from, to)) };
}

function part(x: Matrix, y: Float64Array, from: number, to: number): TabularPart {
  return { x: sliceMatrix(x, from, to), y: y.subarray(from, to) };
}

/** Validation/test metrics on both scales; the model output is in the scaled target space for regression. */
function evaluate(
  task: TabularTask,
  classes: number,
  actualScaled: Float64Array,
  output: Float64Array,
  target: { mean: number; std: number },
): AlgorithmMetrics {
  if (task === 'classification') {
    const { metrics, confusion } = classificationMetrics(actualScaled, output, classes);
    const { count: _count, ...values } = metrics;
    return { original: values, normalized: values, confusion };
  }
  const regression = (a: Float64Array, p: Float64Array) => {
    const e = pointErrors(a, p);
    return { mse: e.mse, rmse: e.rmse, mae: e.mae, r2: rSquared(a, p) };
  };
  const unscale = (v: Float64Array) => v.map((s) => s * target.std + target.mean);
  return { original: regression(unscale(actualScaled), unscale(output)), normalized: regression(actualScaled, output) };
}

/** Lower is better: normalized MSE (regression), log loss (classification). */
function selectionLoss(task: TabularTask, m: AlgorithmMetrics): number {
  const v = task === 'regression' ? m.normalized.mse : m.normalized.logLoss;
  return v ?? Number.POSITIVE_INFINITY;
}

function permutationImportance(
  algorithm: TabularAlgorithm,
  model: unknown,
  problem: TabularProblem,
  evaluation: TabularPart,
  sources: number[],
  names: string[],
  seed: number,
  lossOf: (p: Float64Array) => number,
): FeatureImportance[] {
  const base = lossOf(algorithm.predict(model, evaluation.x, problem.task, problem.classes));
  const random = new Random(seed ^ 0x5eed);
  return names.map((feature, f) => {
    const order = random.shuffle(Array.from({ length: evaluation.x.rows }, (_, i) => i));
    const columns = evaluation.x.columns.map((col, c) =>
      sources[c] === f ? Float64Array.from(order, (i) => col[i]!) : col,
    );
    const loss = lossOf(algorithm.predict(model, { rows: evaluation.x.rows, columns }, problem.task, problem.classes));
    return { feature, value: loss - base, kind: 'permutation' as const };
  });
}

/**
 * Tabular training orchestration: drops rows without a target, splits in row order, fits the encoders and the
 * scaler on the training part only, trains the baselines and the requested algorithm (or, for 'auto', every
 * registered one), picks the best on the validation part, and measures all of them on the test part.
 */
export async function trainTabular(
  input: TabularTrainingInput,
  opts: FitOptions,
): Promise<{ report: TrainingReport; artifact: TabularModelArtifact }> {
  const { task } = input;
  const { keep, labels, y: yRaw } = targetRows(input);
  if (keep.length === 0) throw new TrainingInputError('/target', `Target '${input.target.name}' has no values`);
  if (labels && labels.length < 2)
    throw new TrainingInputError(
      '/target',
      `Target '${input.target.name}' has one class only; classification needs two or more`,
    );
  const rows = keep.length;
  if (rows < MIN_ROWS)
    throw new TrainingInputError('/target', `Only ${rows} rows have a target; training needs at least ${MIN_ROWS}`);
  const split = input.split ?? { trainEnd: Math.floor(rows * 0.7), validEnd: Math.floor(rows * 0.8) };
  if (!(split.trainEnd > 0 && split.validEnd > split.trainEnd && split.validEnd < rows))
    throw new TrainingInputError('/split', `The split must leave rows in train, validation and test (of ${rows} rows)`);

  const features = input.features.map((f) => ({ ...f, values: pick(f.values, keep) }));
  const missing: Record<string, number> = {};
  for (const f of features) {
    let n = 0;
    for (const v of f.values) if (v === null || (typeof v === 'number' && Number.isNaN(v))) n++;
    missing[f.name] = n;
  }
  const encoders = fitEncoders(features, split.trainEnd);
  const columns = encodedColumns(encoders);
  const encoded = encodeRows(encoders, features, rows);
  const scaler = fitScaler(
    encoded,
    split.trainEnd,
    input.scaling ?? 'standard',
    columns.map((c) => c.categorical),
  );
  const x = applyScaler(scaler, encoded);

  let targetStats = { mean: 0, std: 1 };
  if (task === 'regression') {
    const train = yRaw.slice(0, split.trainEnd);
    const mean = train.reduce((a, b) => a + b, 0) / train.length;
    const std = Math.sqrt(train.reduce((a, b) => a + (b - mean) * (b - mean), 0) / train.length);
    targetStats = { mean, std: std > 0 ? std : 1 };
  }
  const y = Float64Array.from(yRaw, (v) => (task === 'regression' ? (v - targetStats.mean) / targetStats.std : v));
  const classes = labels?.length ?? 0;
  const problem: TabularProblem = {
    task,
    classes,
    featureNames: columns.map((c) => c.name),
    categorical: columns.map((c) => c.categorical),
    train: part(x, y, 0, split.trainEnd),
    validation: part(x, y, split.trainEnd, split.validEnd),
  };
  const test = part(x, y, split.validEnd, rows);

  const baselines = Object.values(TABULAR_BASELINES).filter((a) => a.tasks.includes(task));
  let candidates: TabularAlgorithm[];
  if (input.algorithm === 'auto') candidates = Object.values(TABULAR_ALGORITHMS).filter((a) => a.tasks.includes(task));
  else {
    const named = TABULAR_ALGORITHMS[input.algorithm] ?? TABULAR_BASELINES[input.algorithm];
    if (!named) throw new TrainingInputError('/algorithm', `Unknown algorithm '${input.algorithm}'`);
    if (!named.tasks.includes(task))
      throw new TrainingInputError('/algorithm', `Algorithm '${input.algorithm}' does not do ${task}`);
    candidates = baselines.includes(named) ? [] : [named];
  }
  const deadline = input.budgetMs ? Date.now() + input.budgetMs : undefined;

  const leaderboard: LeaderboardEntry[] = [];
  const fitted = new Map<
    string,
    { algorithm: TabularAlgorithm; model: unknown; losses: LossPoint[]; params: Record<string, unknown> }
  >();
  const all = [...baselines, ...candidates];
  for (const [i, algorithm] of all.entries()) {
    opts.signal?.throwIfAborted();
    const isCandidate = i >= baselines.length;
    const params = isCandidate ? (input.params ?? {}) : {};
    if (isCandidate && deadline !== undefined && Date.now() > deadline && fitted.size > baselines.length) {
      leaderboard.push({
        algorithm: algorithm.name,
        params,
        validation: {},
        trainMs: 0,
        status: 'skipped',
        reason: 'time budget spent',
      });
      continue;
    }
    const losses: LossPoint[] = [];
    const started = performance.now();
    opts.progress?.({ phase: 'fitting', algorithm: algorithm.name, iteration: i + 1, of: all.length });
    try {
      const model = await algorithm.fit(problem, {
        seed: opts.seed,
        signal: opts.signal,
        deadline,
        params,
        progress: (p) => {
          if (p.iteration !== undefined && (p.trainLoss !== undefined || p.validLoss !== undefined))
            losses.push({ iteration: p.iteration, train: p.trainLoss ?? null, validation: p.validLoss ?? null });
          opts.progress?.(p);
        },
      });
      const validation = evaluate(
        task,
        classes,
        problem.validation.y,
        algorithm.predict(model, problem.validation.x, task, classes),
        targetStats,
      );
      leaderboard.push({
        algorithm: algorithm.name,
        params,
        validation: validation.normalized,
        trainMs: Math.round(performance.now() - started),
        status: 'ok',
      });
      fitted.set(algorithm.name, { algorithm, model, losses, params });
    } catch (e) {
      if (opts.signal?.aborted || e instanceof TrainingInputError) throw e;
      leaderboard.push({
        algorithm: algorithm.name,
        params,
        validation: {},
        trainMs: Math.round(performance.now() - started),
        status: 'failed',
        reason: e instanceof Error ? e.message : String(e),
      });
    }
  }

  // The best candidate by validation loss; the best baseline when no candidate fitted (or none exists yet).
  const ok = (names: string[]) => leaderboard.filter((l) => l.status === 'ok' && names.includes(l.algorithm));
  const pool =
    ok(candidates.map((c) => c.name)).length > 0 ? ok(candidates.map((c) => c.name)) : ok(baselines.map((b) => b.name));
  if (pool.length === 0) throw new Error('no algorithm could be fitted');
  const best = pool.reduce((a, b) =>
    selectionLoss(task, { original: {}, normalized: b.validation }) <
    selectionLoss(task, { original: {}, normalized: a.validation })
      ? b
      : a,
  );
  const chosen = fitted.get(best.algorithm)!;

  opts.progress?.({ phase: 'evaluating', algorithm: best.algorithm });
  const metrics: Record<string, AlgorithmMetrics> = {};
  for (const [name, f] of fitted)
    metrics[name] = evaluate(task, classes, test.y, f.algorithm.predict(f.model, test.x, task, classes), targetStats);

  const featureNames = features.map((f) => f.name);
  let importance: FeatureImportance[];
  const gains = chosen.algorithm.importance?.(chosen.model);
  if (gains) {
    const byFeature = new Array<number>(featureNames.length).fill(0);
    gains.forEach((g, c) => (byFeature[columns[c]!.source]! += g));
    importance = featureNames.map((feature, f) => ({ feature, value: byFeature[f]!, kind: 'gain' as const }));
  } else {
    importance = permutationImportance(
      chosen.algorithm,
      chosen.model,
      problem,
      problem.validation,
      columns.map((c) => c.source),
      featureNames,
      opts.seed,
      (p) => selectionLoss(task, evaluate(task, classes, problem.validation.y, p, targetStats)),
    );
  }
  importance.sort((a, b) => b.value - a.value);

  const report: TrainingReport = {
    task,
    algorithm: best.algorithm,
    params: chosen.params,
    leaderboard,
    metrics,
    losses: chosen.losses,
    importance,
    data: {
      rows,
      train: split.trainEnd,
      validation: split.validEnd - split.trainEnd,
      test: rows - split.validEnd,
      missing,
    },
  };
  const artifact: TabularModelArtifact = {
    kind: 'tabular',
    task,
    features: input.features.map((f) => ({ name: f.name, kind: f.kind })),
    encoders,
    scaler,
    target: { name: input.target.name, classes: labels ?? [], ...targetStats },
    algorithm: best.algorithm,
    model: chosen.model,
  };
  return { report, artifact };
}
