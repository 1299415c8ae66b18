/**
 * Forecast training orchestration: checks the input, scales every series with statistics of its training part,
 * fills gaps, trains every baseline and the requested algorithm(s) (or, with 'auto', the eligible ones within the
 * budget), selects on validation only, measures everything on the held-back test part on both scales, and
 * calibrates split-conformal intervals. The test part is never handed to a fit: algorithms see the series up to
 * validEnd.
 */
import { TrainingInputError } from '../errors.js';
import type { LeaderboardEntry, TrainingReport } from '../report.js';
import { fitScaler, SCALING_KINDS, type ScalerState, type ScalingKind } from '../scaling.js';
import type { FitOptions, ForecastAlgorithm, SeriesProblem } from '../types.js';
import {
  AUTO_CANDIDATES,
  BASELINE_NAMES,
  FORECAST_ALGORITHMS,
  TREE_CANDIDATES,
  TREE_MAX_ROWS,
  TREE_MIN_BUDGET_MS,
} from './algorithms.js';
import { evaluateForecast, type EvaluationData } from './backtest.js';
import { conformalQuantiles, DEFAULT_LEVELS, intervalBands, residualsByStep, type IntervalModel } from './intervals.js';
import { resolvePeriod } from './period.js';
import { windowCount } from './windows.js';

export interface ForecastTrainingInput {
  /** One per series (target column per series id, channel-independent), aligned on times. */
  series: Float64Array[];
  seriesNames: string[];
  /** Epoch ms per index (regular step), or null. */
  times: Float64Array | null;
  stepMs: number | null;
  horizon: number;
  /** Default: min(336, what the data allows). */
  lookback?: number;
  /** Default: from the step / detected. */
  period?: number | null;
  /** Explicit index boundaries; default 70/10/20. */
  split?: { trainEnd: number; validEnd: number };
  /** An algorithm name or 'auto'. */
  algorithm: string;
  scaling?: ScalingKind;
  /** Passed to the requested algorithm (not to baselines, nor to 'auto' candidates). */
  params?: Record<string, unknown>;
  budgetMs?: number;
  /**
   * How 'auto' picks: 'best' = lowest validation MSE; 'one-se' = the first candidate in parsimony order
   * (AUTO_CANDIDATES: nlinear, linear, dlinear, linear-ensemble, gbdt, blend) whose validation MSE is within one
   * standard error (over validation blocks: the cross-validation folds) of the lowest. Default 'one-se': candidates
   * often differ by less than the noise of their estimate (on ETT, Linear and NLinear by 0.5 % over folds whose
   * differences swing both ways), and a near-tie should go to the more constrained model rather than to chance.
   */
  selection?: 'best' | 'one-se';
  /**
   * Exogenous columns on the same index as the series (`values.length` = the series length), one set shared by
   * every series. They are past covariates: each is scaled with its training-part statistics (the same scaling
   * kind), gaps forward-filled, and the linear family may use its last `exogenousLookback` values before an origin
   * (with or without them is chosen on validation). Future values are never needed.
   */
  exogenous?: { name: string; values: Float64Array }[];
  /** How many past values of each exogenous column a model sees; default min(lookback, 48). */
  exogenousLookback?: number;
}

export interface ForecastModelArtifact {
  kind: 'forecast';
  version: 1;
  algorithm: string;
  /** The chosen algorithm's own artifact (JSON). */
  model: unknown;
  scalers: ScalerState[];
  seriesNames: string[];
  lookback: number;
  horizon: number;
  period: number | null;
  stepMs: number | null;
  /** Epoch ms of the last training index (validEnd − 1), or null without times. */
  lastTime: number | null;
  /** Normalized-scale |residual| quantiles per level and step. */
  intervals: IntervalModel | null;
  /**
   * The exogenous columns the chosen model uses (absent when it uses none): names, their scalers and how many past
   * values of each a forecast needs.
   */
  exogenous?: { names: string[]; scalers: ScalerState[]; lookback: number };
}

const DEFAULT_LOOKBACK = 336;
const DEFAULT_EXOGENOUS_LOOKBACK = 48;

interface Prepared {
  n: number;
  trainEnd: number;
  validEnd: number;
  lookback: number;
  period: number | null;
  scalers: ScalerState[];
  inputs: Float64Array[];
  actuals: Float64Array[];
  missing: Record<string, number>;
  exogenous: { names: string[]; scalers: ScalerState[]; inputs: Float64Array[]; lookback: number } | null;
}

/** Forward fill, then back fill of a leading gap: model inputs never hold NaN. */
function fillGaps(values: Float64Array): Float64Array {
  const out = Float64Array.from(values);
  let last = NaN;
  for (let i = 0; i < out.length; i++) {
    if (Number.isNaN(out[i]!)) out[i] = last;
    else last = out[i]!;
  }
  let first = out.findIndex((v) => !Number.isNaN(v));
  if (first < 0) first = out.length;
  for (let i = 0; i < first; i++) out[i] = out[first] ?? 0;
  return out;
}

function prepare(input: ForecastTrainingInput): Prepared {
  const n = input.series[0]?.length ?? 0;
  if (input.series.length === 0 || n === 0) throw new TrainingInputError('/series', 'there is no data to train on');
  if (input.seriesNames.length !== input.series.length)
    throw new TrainingInputError('/seriesNames', 'one name per series is required');
  input.series.forEach((s, i) => {
    if (s.length !== n) throw new TrainingInputError(`/series/${i}`, 'every series must have the same length');
  });
  if (input.times && input.times.length !== n) throw new TrainingInputError('/times', 'one time per index is required');
  if (!Number.isInteger(input.horizon) || input.horizon < 1)
    throw new TrainingInputError('/horizon', 'the horizon must be a positive integer');
  const scaling = input.scaling ?? 'standard';
  if (!SCALING_KINDS.includes(scaling))
    throw new TrainingInputError('/scaling', `unknown scaling "${String(scaling)}"`);
  if (input.algorithm !== 'auto' && !FORECAST_ALGORITHMS.has(input.algorithm))
    throw new TrainingInputError(
      '/algorithm',
      `unknown forecast algorithm "${input.algorithm}"; expected auto or one of ${[...FORECAST_ALGORITHMS.keys()].join(', ')}`,
    );
  const split = input.split ?? { trainEnd: Math.floor(n * 0.7), validEnd: Math.floor(n * 0.8) };
  const { trainEnd, validEnd } = split;
  if (
    !Number.isInteger(trainEnd) ||
    !Number.isInteger(validEnd) ||
    !(0 < trainEnd && trainEnd <= validEnd && validEnd < n)
  )
    throw new TrainingInputError('/split', `split boundaries must satisfy 0 < trainEnd ≤ validEnd < ${n}`);
  const H = input.horizon;
  // A lookback needs at least one training window and one test window.
  const allowed = Math.min(trainEnd - H, validEnd);
  if (H >= n - validEnd || allowed < 1)
    throw new TrainingInputError(
      '/horizon',
      `a horizon of ${H} is longer than the data allows (${n} rows: test part ${n - validEnd}, training part ${trainEnd})`,
    );
  const lookback = input.lookback ?? Math.min(DEFAULT_LOOKBACK, Math.max(1, Math.floor(allowed / 2)));
  if (!Number.isInteger(lookback) || lookback < 1 || lookback > allowed)
    throw new TrainingInputError(
      '/lookback',
      `the lookback must be an integer in [1, ${allowed}] for this data and horizon`,
    );
  const missing: Record<string, number> = {};
  const scalers: ScalerState[] = [];
  const inputs: Float64Array[] = [];
  const actuals: Float64Array[] = [];
  input.series.forEach((s, i) => {
    const name = input.seriesNames[i]!;
    let nan = 0;
    let trainValues = 0;
    for (let j = 0; j < n; j++) {
      if (Number.isNaN(s[j]!)) nan++;
      else if (j < trainEnd) trainValues++;
    }
    missing[name] = nan;
    if (trainValues === 0)
      throw new TrainingInputError('/target', `series "${name}" has no value in its training part (all null)`);
    const sc = fitScaler(scaling, s.subarray(0, trainEnd));
    scalers.push(sc);
    const scaled = new Float64Array(n);
    for (let j = 0; j < n; j++) scaled[j] = (s[j]! - sc.center) / sc.scale;
    actuals.push(scaled);
    // Filled from what precedes each index only (forward fill), so test values never leak into earlier inputs;
    // the back fill of a leading gap uses the first value, which lies in the training part (checked above).
    inputs.push(fillGaps(scaled));
  });
  const period = resolvePeriod(input.period, input.stepMs, inputs[0]!.subarray(0, trainEnd));
  const exogenous = prepareExogenous(input, n, trainEnd, lookback, scaling, missing);
  return { n, trainEnd, validEnd, lookback, period, scalers, inputs, actuals, missing, exogenous };
}

function prepareExogenous(
  input: ForecastTrainingInput,
  n: number,
  trainEnd: number,
  lookback: number,
  scaling: ScalingKind,
  missing: Record<string, number>,
): Prepared['exogenous'] {
  const columns = input.exogenous ?? [];
  if (columns.length === 0) return null;
  const exoLookback = input.exogenousLookback ?? Math.min(lookback, DEFAULT_EXOGENOUS_LOOKBACK);
  if (!Number.isInteger(exoLookback) || exoLookback < 1 || exoLookback > lookback)
    throw new TrainingInputError('/exogenousLookback', `the exogenous lookback must be an integer in [1, ${lookback}]`);
  const names = new Set<string>();
  const scalers: ScalerState[] = [];
  const inputs: Float64Array[] = [];
  columns.forEach((c, k) => {
    if (typeof c.name !== 'string' || c.name === '' || names.has(c.name))
      throw new TrainingInputError(`/exogenous/${k}/name`, 'every exogenous column needs a distinct name');
    names.add(c.name);
    if (c.values.length !== n)
      throw new TrainingInputError(`/exogenous/${k}/values`, `exogenous column "${c.name}" must have ${n} values`);
    let nan = 0;
    let trainValues = 0;
    for (let j = 0; j < n; j++) {
      if (Number.isNaN(c.values[j]!)) nan++;
      else if (j < trainEnd) trainValues++;
    }
    if (trainValues === 0)
      throw new TrainingInputError(
        `/exogenous/${k}/values`,
        `exogenous column "${c.name}" has no value in its training part (all null)`,
      );
    if (!(c.name in missing)) missing[c.name] = nan;
    const sc = fitScaler(scaling, c.values.subarray(0, trainEnd));
    scalers.push(sc);
    const scaled = new Float64Array(n);
    for (let j = 0; j < n; j++) scaled[j] = (c.values[j]! - sc.center) / sc.scale;
    inputs.push(fillGaps(scaled));
  });
  return { names: [...names], scalers, inputs, lookback: exoLookback };
}

/** Whether an algorithm's artifact uses the exogenous columns (the linear family records it). */
function usesExogenous(model: unknown): boolean {
  return typeof model === 'object' && model !== null && 'exogenous' in model && Boolean(model.exogenous);
}

/**
 * The chosen model's loss curve: its own (train and validation loss per boosting round, for trees) or the
 * validation MSE per candidate (per ridge strength for the linear family, per member subset for the ensemble, per
 * weight for the blend).
 */
function lossesOf(model: unknown): TrainingReport['losses'] {
  if (typeof model === 'object' && model !== null && 'losses' in model && Array.isArray(model.losses))
    return model.losses as TrainingReport['losses'];
  if (typeof model !== 'object' || model === null || !('validation' in model)) return [];
  const v = model.validation;
  const curve = typeof v === 'object' && v !== null && 'curve' in v ? v.curve : undefined;
  if (!Array.isArray(curve)) return [];
  return curve.map((value: unknown, iteration) => ({
    iteration,
    train: null,
    validation: typeof value === 'number' && Number.isFinite(value) ? value : null,
  }));
}

function importanceOf(model: unknown): TrainingReport['importance'] {
  if (typeof model !== 'object' || model === null || !('importance' in model) || !Array.isArray(model.importance))
    return [];
  return (model.importance as unknown[])
    .filter(
      (g): g is { feature: string; value: number; kind?: 'gain' | 'permutation' } =>
        typeof g === 'object' &&
        g !== null &&
        typeof (g as { feature?: unknown }).feature === 'string' &&
        typeof (g as { value?: unknown }).value === 'number',
    )
    .map((g) => ({
      feature: g.feature,
      value: g.value,
      kind: g.kind === 'gain' ? ('gain' as const) : ('permutation' as const),
    }));
}

function problemOf(input: ForecastTrainingInput, p: Prepared, trainEnd: number, validEnd: number): SeriesProblem {
  return {
    series: p.inputs.map((s) => s.subarray(0, validEnd)),
    trainEnd,
    validEnd,
    horizon: input.horizon,
    lookback: p.lookback,
    period: p.period,
    times: input.times,
    stepMs: input.stepMs,
    ...(p.exogenous
      ? {
          exogenous: {
            names: p.exogenous.names,
            series: p.exogenous.inputs.map((c) => c.subarray(0, validEnd)),
            lookback: p.exogenous.lookback,
          },
        }
      : {}),
  };
}

function ownValidation(artifact: unknown): number | null {
  if (typeof artifact !== 'object' || artifact === null || !('validation' in artifact)) return null;
  const v = (artifact as { validation: unknown }).validation;
  if (typeof v !== 'object' || v === null) return null;
  const mse = (v as { mse?: unknown }).mse;
  return typeof mse === 'number' && Number.isFinite(mse) ? mse : null;
}

function validationBlocks(artifact: unknown): number[] | null {
  if (typeof artifact !== 'object' || artifact === null || !('validation' in artifact)) return null;
  const v = (artifact as { validation: unknown }).validation;
  const blocks = typeof v === 'object' && v !== null ? (v as { blocks?: unknown }).blocks : undefined;
  return Array.isArray(blocks) && blocks.every((b) => typeof b === 'number') ? (blocks as number[]) : null;
}

/** Lowest validation MSE among the trained algorithms (baselines included); null when none has one. */
function lowestValidation(trained: Map<string, Trained>): string | null {
  let chosen: string | null = null;
  let best = Infinity;
  for (const [name, t] of trained)
    if (t.validationMse !== null && t.validationMse < best) {
      best = t.validationMse;
      chosen = name;
    }
  return chosen;
}

/**
 * The one-standard-error rule: the most constrained candidate whose validation error exceeds the lowest by no more
 * than the standard error of the per-block differences (blocks of validation origins about a horizon long).
 */
function oneStandardError(trained: Map<string, Trained>, best: string): string {
  const reference = validationBlocks(trained.get(best)?.artifact);
  if (!reference || reference.length < 2) return best;
  for (const name of AUTO_CANDIDATES) {
    if (name === best) return best;
    const blocks = validationBlocks(trained.get(name)?.artifact);
    if (!blocks || blocks.length !== reference.length) continue;
    const diffs = blocks.map((b, i) => b - reference[i]!);
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    const variance = diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / (diffs.length - 1);
    if (mean <= Math.sqrt(variance / diffs.length)) return name;
  }
  return best;
}

function artifactParams(artifact: unknown): Record<string, unknown> {
  if (typeof artifact === 'object' && artifact !== null && 'params' in artifact) {
    const params = (artifact as { params: unknown }).params;
    if (typeof params === 'object' && params !== null) return params as Record<string, unknown>;
  }
  return {};
}

interface Trained {
  algorithm: ForecastAlgorithm;
  artifact: unknown;
  validationMse: number | null;
}

export async function trainForecast(
  input: ForecastTrainingInput,
  opts: FitOptions,
): Promise<{ report: TrainingReport; artifact: ForecastModelArtifact }> {
  const p = prepare(input);
  const H = input.horizon;
  const started = Date.now();
  const deadline = input.budgetMs !== undefined ? started + input.budgetMs : opts.deadline;
  const requested = input.algorithm === 'auto' ? AUTO_CANDIDATES : [input.algorithm];
  const names = [...BASELINE_NAMES, ...requested.filter((r) => !BASELINE_NAMES.includes(r))];
  const timeOf = input.times ? (i: number) => input.times![i]! : null;
  const evalData = (from: number): EvaluationData => ({
    inputs: p.inputs,
    actuals: p.actuals,
    scalers: p.scalers,
    times: timeOf,
    lookback: p.lookback,
    horizon: H,
    period: p.period,
    scaleEnd: from,
    exogenous: p.exogenous?.inputs ?? null,
  });
  const full = problemOf(input, p, p.trainEnd, p.validEnd);
  const trainOnly = problemOf(input, p, Math.floor(p.trainEnd * 0.875), p.trainEnd);
  const leaderboard: LeaderboardEntry[] = [];
  const trained = new Map<string, Trained>();
  const treeRows = windowCount(0, p.trainEnd, p.lookback, H) * H * p.inputs.length;
  const treeReason = (deadline: number | undefined): string | null =>
    treeRows > TREE_MAX_ROWS
      ? `series too long for trees within the budget (${treeRows} rows > ${TREE_MAX_ROWS})`
      : deadline !== undefined && deadline - Date.now() < TREE_MIN_BUDGET_MS
        ? 'too little of the time budget left for trees'
        : null;

  for (const [index, name] of names.entries()) {
    opts.signal?.throwIfAborted();
    const algorithm = FORECAST_ALGORITHMS.get(name)!;
    const isBaseline = BASELINE_NAMES.includes(name);
    const skipped =
      !isBaseline && deadline !== undefined && Date.now() >= deadline
        ? 'time budget spent'
        : input.algorithm === 'auto' && TREE_CANDIDATES.includes(name)
          ? treeReason(deadline)
          : null;
    if (skipped !== null) {
      leaderboard.push({
        algorithm: name,
        params: {},
        validation: { mse: null, mae: null },
        trainMs: 0,
        status: 'skipped',
        reason: skipped,
      });
      continue;
    }
    opts.progress?.({ phase: 'fitting', algorithm: name, iteration: index + 1, of: names.length });
    const t0 = Date.now();
    try {
      const fitOpts: FitOptions = { ...opts, params: input.algorithm === name ? input.params : undefined, deadline };
      const artifact = await algorithm.fit(full, fitOpts);
      let validation: Record<string, number | null>;
      let validationMse = ownValidation(artifact);
      if (validationMse !== null) validation = { mse: validationMse };
      else {
        // Validation of an algorithm without its own: a fit on the training part, measured on the validation part.
        const valArtifact = await algorithm.fit(
          { ...full, series: full.series.map((s) => s.subarray(0, p.trainEnd)), validEnd: p.trainEnd },
          fitOpts,
        );
        const ev = evaluateForecast(algorithm, valArtifact, evalData(p.trainEnd), p.trainEnd, p.validEnd).evaluation;
        validationMse = ev.windows > 0 ? ev.normalized.mse : null;
        validation = { mse: validationMse, mae: ev.windows > 0 ? ev.normalized.mae : null };
      }
      trained.set(name, { algorithm, artifact, validationMse });
      leaderboard.push({
        algorithm: name,
        params: artifactParams(artifact),
        validation,
        trainMs: Date.now() - t0,
        status: 'ok',
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      if (e instanceof TrainingInputError) throw e;
      leaderboard.push({
        algorithm: name,
        params: {},
        validation: { mse: null },
        trainMs: Date.now() - t0,
        status: 'failed',
        reason: e instanceof Error ? e.message : String(e),
      });
    }
  }

  // Selection on validation only: the requested algorithm, or with 'auto' the lowest validation MSE (baselines too).
  let chosen: string | null = input.algorithm === 'auto' ? null : input.algorithm;
  if (chosen !== null && !trained.has(chosen)) {
    const failure = leaderboard.find((l) => l.algorithm === chosen);
    throw new Error(`algorithm ${chosen} failed: ${failure?.reason ?? 'not trained'}`);
  }
  const lowest = lowestValidation(trained) ?? 'repeat-last';
  const oneSe = oneStandardError(trained, lowest);
  if (chosen === null) chosen = input.selection === 'best' ? lowest : oneSe;
  const winner = trained.get(chosen)!;

  opts.progress?.({ phase: 'testing', algorithm: chosen });
  const metrics: TrainingReport['metrics'] = {};
  for (const [name, t] of trained) {
    const ev = evaluateForecast(t.algorithm, t.artifact, evalData(p.trainEnd), p.validEnd, p.n).evaluation;
    metrics[name] = { original: ev.original, normalized: ev.normalized, perStep: ev.perStep };
  }
  const reference = metrics['repeat-last']?.normalized['mse'] ?? null;
  for (const m of Object.values(metrics)) {
    const mse = m.normalized['mse'] ?? null;
    m.skill = reference !== null && reference > 0 && mse !== null ? 1 - mse / reference : null;
  }

  // Split-conformal calibration: the chosen algorithm fitted without the validation part, residuals on it.
  let intervals: IntervalModel | null = null;
  if (windowCount(p.trainEnd, p.validEnd, p.lookback, H) > 0) {
    opts.progress?.({ phase: 'calibrating', algorithm: chosen });
    try {
      const calArtifact = await winner.algorithm.fit(
        { ...trainOnly, series: trainOnly.series.map((s) => s.subarray(0, p.trainEnd)) },
        { ...opts, params: input.algorithm === chosen ? input.params : undefined },
      );
      const { forecasts, origins } = evaluateForecast(
        winner.algorithm,
        calArtifact,
        evalData(p.trainEnd),
        p.trainEnd,
        p.validEnd,
      );
      intervals = conformalQuantiles(residualsByStep(p.actuals, forecasts, origins, H), DEFAULT_LEVELS);
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      intervals = null; // a training part too short for an inner split: no intervals rather than no model
    }
  }

  const artifact: ForecastModelArtifact = {
    kind: 'forecast',
    version: 1,
    algorithm: chosen,
    model: winner.artifact,
    scalers: p.scalers,
    seriesNames: [...input.seriesNames],
    lookback: p.lookback,
    horizon: H,
    period: p.period,
    stepMs: input.stepMs,
    lastTime: input.times ? input.times[p.validEnd - 1]! : null,
    intervals,
    ...(p.exogenous && usesExogenous(winner.artifact)
      ? { exogenous: { names: p.exogenous.names, scalers: p.exogenous.scalers, lookback: p.exogenous.lookback } }
      : {}),
  };
  const report: TrainingReport = {
    task: 'forecast',
    algorithm: chosen,
    params: {
      ...artifactParams(winner.artifact),
      selection: { rule: input.selection ?? 'one-se', lowest, oneStandardError: oneSe },
      lookback: p.lookback,
      horizon: H,
      period: p.period,
      scaling: input.scaling ?? 'standard',
      ...(artifact.exogenous
        ? { exogenous: artifact.exogenous.names, exogenousLookback: artifact.exogenous.lookback }
        : {}),
    },
    leaderboard,
    metrics,
    losses: lossesOf(winner.artifact),
    importance: importanceOf(winner.artifact),
    ...(intervals ? { intervals: { levels: intervals.levels, quantiles: intervals.quantiles } } : {}),
    data: {
      rows: p.n,
      train: p.trainEnd,
      validation: p.validEnd - p.trainEnd,
      test: p.n - p.validEnd,
      missing: p.missing,
    },
  };
  return { report, artifact };
}

/**
 * Forecasts `horizon` steps after the end of each series' history (original scale), with interval bands. `history`
 * holds one array per series of the artifact (same order), at least `lookback` long; `lastTime` is the epoch ms of
 * the last history index (needed by models with calendar terms). `exogenous` is the recent history of the exogenous
 * columns (by name, original scale, the last value at the same index as the last value of every series' history,
 * at least `artifact.exogenous.lookback` values), required when the model uses them and ignored otherwise.
 */
export function forecastFrom(
  artifact: ForecastModelArtifact,
  history: Float64Array[],
  horizon: number,
  lastTime: number | null,
  levels?: number[],
  exogenous?: { name: string; values: Float64Array }[],
): {
  times: number[] | null;
  series: { name: string; values: number[]; intervals: { level: number; lower: number[]; upper: number[] }[] }[];
} {
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > artifact.horizon)
    throw new TrainingInputError(
      '/horizon',
      `the horizon must be an integer in [1, ${artifact.horizon}] for this model`,
    );
  if (history.length !== artifact.seriesNames.length)
    throw new TrainingInputError('/history', `expected ${artifact.seriesNames.length} series of history`);
  const algorithm = FORECAST_ALGORITHMS.get(artifact.algorithm);
  if (!algorithm) throw new Error(`unknown algorithm ${artifact.algorithm} in the artifact`);
  const step = artifact.stepMs;
  const timeOf =
    lastTime !== null && step !== null ? (len: number) => (i: number) => lastTime + (i - (len - 1)) * step : null;
  const wanted = levels ?? artifact.intervals?.levels ?? [];
  const covariates = exogenousHistory(artifact, exogenous);
  const series = history.map((h, s) => {
    const name = artifact.seriesNames[s]!;
    const need = Math.max(artifact.lookback, algorithm.minHistory(artifact));
    if (h.length < need)
      throw new TrainingInputError(`/history/${s}`, `series "${name}" needs at least ${need} values of history`);
    const sc = artifact.scalers[s]!;
    const scaled = new Float64Array(h.length);
    for (let i = 0; i < h.length; i++) scaled[i] = (h[i]! - sc.center) / sc.scale;
    const filled = fillGaps(scaled);
    if (filled.every((v) => Number.isNaN(v)) || Number.isNaN(filled[0]!))
      throw new TrainingInputError(`/history/${s}`, `series "${name}" has no value in its history`);
    let point: Float64Array;
    try {
      point = algorithm.forecast(
        artifact.model,
        filled,
        [h.length],
        horizon,
        timeOf ? timeOf(h.length) : null,
        covariates ? covariates.map((c) => alignEnd(c, h.length)) : null,
      );
    } catch (e) {
      // A model with calendar terms asked for times it was not given: the caller's input, not a server fault.
      if (e instanceof RangeError && /times/.test(e.message))
        throw new TrainingInputError(
          '/lastTime',
          'this model uses calendar terms: the time of the last history value is required',
        );
      throw e;
    }
    const values = Array.from(point, (v) => v * sc.scale + sc.center);
    const bands =
      artifact.intervals && wanted.length > 0
        ? intervalBands(artifact.intervals, point, wanted).map((b) => ({
            level: b.level,
            lower: b.lower.map((v) => v * sc.scale + sc.center),
            upper: b.upper.map((v) => v * sc.scale + sc.center),
          }))
        : [];
    return { name, values, intervals: bands };
  });
  const times =
    lastTime !== null && step !== null ? Array.from({ length: horizon }, (_, h) => lastTime + (h + 1) * step) : null;
  return { times, series };
}

/** The model's exogenous columns from the caller's, scaled and gap-filled, in the artifact's order; null if unused. */
function exogenousHistory(
  artifact: ForecastModelArtifact,
  given: { name: string; values: Float64Array }[] | undefined,
): Float64Array[] | null {
  const spec = artifact.exogenous;
  if (!spec) return null;
  return spec.names.map((name, k) => {
    const column = given?.find((c) => c.name === name);
    if (!column)
      throw new TrainingInputError('/exogenous', `this model needs the recent history of exogenous column "${name}"`);
    if (column.values.length < spec.lookback)
      throw new TrainingInputError(
        `/exogenous/${given!.indexOf(column)}/values`,
        `exogenous column "${name}" needs at least ${spec.lookback} values of history`,
      );
    const sc = spec.scalers[k]!;
    const scaled = fillGaps(column.values.map((v) => (v - sc.center) / sc.scale));
    if (Number.isNaN(scaled[0]!))
      throw new TrainingInputError(
        `/exogenous/${given!.indexOf(column)}/values`,
        `exogenous column "${name}" has no value`,
      );
    return scaled;
  });
}

/** `values` re-indexed so that its last value sits at index length − 1 (front padded with its first value). */
function alignEnd(values: Float64Array, length: number): Float64Array {
  if (values.length === length) return values;
  if (values.length > length) return values.subarray(values.length - length);
  const out = new Float64Array(length).fill(values[0]!);
  out.set(values, length - values.length);
  return out;
}
