/**
 * The LTSF linear family (Linear, NLinear, DLinear) solved in closed form: ridge regression of the H horizon steps on
 * the lookback window, one weight vector per step (one Gram matrix, H right-hand sides), channel-independent (every
 * series shares the weights; windows are pooled).
 *
 * Everything is computed from second moments of the inputs u = [x (lookback values), 1, calendar one-hots] and the
 * targets y: each variant is a sparse linear map of u, so fitting, validation MSE for every ridge strength and the
 * refit on train + validation cost O(d³ + d²·H) each, independent of the number of windows (the window moments are
 * nearly Toeplitz and accumulate in O(n·w)).
 *
 * Selection: every variant tries calendar terms on/off (when the index is time) and a grid of ridge strengths, keeps
 * the lowest validation MSE and refits on train + validation with that strength (scaled per window). The ensemble
 * averages the predictors of a subset of variants, the subset chosen the same way.
 *
 * The validation MSE is a blocked K-fold cross-validation over the windows of train + validation (never the test
 * part) when there are enough windows, else the error on the validation part of a fit on the training part. Why:
 * one validation part is one stretch of the year. On ETT it is the same season as the start of the training part, so
 * it rewards models that pull forecasts back to the training level (Linear's intercept) and misses that the test
 * months lie below anything seen; folds spread over every season measure how a model copes with a level it was not
 * fitted on. The closed form makes it cheap: a fold's fit is the moments of all windows minus those near the fold.
 */
import { ridgeSolve, solveSpd } from '../linalg.js';
import type { FitOptions, ForecastAlgorithm, SeriesProblem } from '../types.js';
import { windowMoments, windowOrigins } from './windows.js';

const DAY_MS = 86_400_000;
/** Ridge strengths per window (λ = value × window count), smallest first. */
export const LAMBDA_GRID = [1e-6, 1e-3, 0.01, 0.1, 0.3, 1];
export const DLINEAR_KERNEL = 25;

/** A calendar one-hot of the origin: phase = floor(time / unitMs) mod cycle (e.g. hour of day, day of week). */
export interface CalendarTerm {
  unitMs: number;
  cycle: number;
}

export type LinearKind = 'linear' | 'nlinear' | 'dlinear';

/** The fitted predictor: ŷ_h = weights[h] · u. JSON. */
export interface LinearArtifact {
  kind: LinearKind | 'ensemble';
  lookback: number;
  horizon: number;
  calendar: CalendarTerm[];
  /** Exogenous past covariates the weights use: `count` columns, the last `lookback` values of each. */
  exogenous?: { count: number; lookback: number };
  /** horizon rows × (lookback + 1 + exogenous count × lookback + Σ cycle): lags, intercept, covariates, calendar. */
  weights: number[][];
  params: Record<string, unknown>;
  /**
   * Validation MSE of the selected configuration, and per block: per cross-validation fold, or (a series too short
   * for folds) per consecutive stretch of validation origins about a horizon long, fitted on train only. The blocks'
   * errors are roughly independent: a standard error for selection.
   * `curve`: the validation MSE per candidate of the selected configuration (per ridge strength of the grid; for the
   * ensemble, per member subset), the model's loss curve.
   */
  validation: { mse: number; blocks: number[]; curve?: (number | null)[] };
  /**
   * Expected permutation importance per input group on the validation windows, in closed form: permuting a group G
   * across windows raises the MSE by 2·P_Gᵀ·Cov(u_G)·P_G on average (P the weights of a step; exact when the
   * residuals are uncorrelated with the inputs, as for a least-squares fit), averaged over steps.
   * Groups: lag buckets (a seasonal period long, or an eighth of the lookback), each exogenous column, each calendar
   * term.
   */
  importance?: { feature: string; value: number }[];
}

/** Where each input sits in u = [lags, 1, exogenous windows, calendar one-hots]. */
interface Layout {
  lookback: number;
  exoCount: number;
  exoLookback: number;
  /** First column of each calendar term. */
  calendarOffsets: number[];
  m: number;
}

function layoutOf(lookback: number, exo: { count: number; lookback: number } | null, calendar: CalendarTerm[]): Layout {
  const exoCount = exo?.count ?? 0;
  const exoLookback = exo?.lookback ?? 0;
  let m = lookback + 1 + exoCount * exoLookback;
  const calendarOffsets: number[] = [];
  for (const c of calendar) {
    calendarOffsets.push(m);
    m += c.cycle;
  }
  return { lookback, exoCount, exoLookback, calendarOffsets, m };
}

/** Moments over a set of windows in u-space (m = lookback + 1 + exogenous inputs + Σ cycle). */
interface Moments {
  m: number;
  horizon: number;
  count: number;
  /** m × m. */
  uu: Float64Array;
  /** m × horizon. */
  uy: Float64Array;
  /** Σ y_h² per step. */
  yy: Float64Array;
}

function phaseOf(time: number, term: CalendarTerm): number {
  const k = Math.floor(time / term.unitMs) % term.cycle;
  return k < 0 ? k + term.cycle : k;
}

/** Calendar terms the index supports: time of day for sub-daily steps, day of week for steps up to a day. */
export function calendarTerms(stepMs: number | null, period: number | null): CalendarTerm[] {
  if (stepMs === null || !(stepMs > 0)) return [];
  const terms: CalendarTerm[] = [];
  if (stepMs < DAY_MS && DAY_MS % stepMs === 0) terms.push({ unitMs: stepMs, cycle: DAY_MS / stepMs });
  else if (period !== null && period >= 2 && period <= 400) terms.push({ unitMs: stepMs, cycle: period });
  if (stepMs <= DAY_MS) terms.push({ unitMs: DAY_MS, cycle: 7 });
  return terms;
}

function momentsOf(
  problem: SeriesProblem,
  from: number,
  to: number,
  calendar: CalendarTerm[],
  useExogenous: boolean,
): Moments {
  return momentsOfOrigins(problem, windowOrigins(from, to, problem.lookback, problem.horizon), calendar, useExogenous);
}

function exogenousOf(problem: SeriesProblem, use: boolean): { count: number; lookback: number } | null {
  const exo = problem.exogenous;
  return use && exo && exo.series.length > 0 ? { count: exo.series.length, lookback: exo.lookback } : null;
}

function momentsOfOrigins(
  problem: SeriesProblem,
  range: { first: number; last: number } | null,
  calendar: CalendarTerm[],
  useExogenous: boolean,
): Moments {
  const L = problem.lookback;
  const H = problem.horizon;
  const w = L + H;
  const layout = layoutOf(L, exogenousOf(problem, useExogenous), calendar);
  const offsets = layout.calendarOffsets;
  const m = layout.m;
  const uu = new Float64Array(m * m);
  const uy = new Float64Array(m * H);
  const yy = new Float64Array(H);
  let count = 0;
  if (!range) return { m, horizon: H, count, uu, uy, yy };
  const phases = new Int32Array(calendar.length);
  for (const s of problem.series) {
    const wm = windowMoments(s, range.first, range.last, L, H);
    count += wm.count;
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < L; j++) uu[i * m + j]! += wm.gram[i * w + j]!;
      for (let h = 0; h < H; h++) uy[i * H + h]! += wm.gram[i * w + L + h]!;
      uu[i * m + L]! += wm.sum[i]!;
      uu[L * m + i]! += wm.sum[i]!;
    }
    uu[L * m + L]! += wm.count;
    for (let h = 0; h < H; h++) {
      uy[L * H + h]! += wm.sum[L + h]!;
      yy[h]! += wm.gram[(L + h) * w + L + h]!;
    }
    if (calendar.length === 0) continue;
    const times = problem.times!;
    for (let t = range.first; t <= range.last; t++) {
      for (let c = 0; c < calendar.length; c++) phases[c] = offsets[c]! + phaseOf(times[t]!, calendar[c]!);
      for (let c = 0; c < calendar.length; c++) {
        const r = phases[c]!;
        const row = r * m;
        for (let j = 0; j < L; j++) {
          const v = s[t - L + j]!;
          uu[row + j]! += v;
          uu[j * m + r]! += v;
        }
        uu[row + L]! += 1;
        uu[L * m + r]! += 1;
        for (let c2 = 0; c2 < calendar.length; c2++) uu[row + phases[c2]!]! += 1;
        for (let h = 0; h < H; h++) uy[r * H + h]! += s[t + h]!;
      }
    }
  }
  if (layout.exoCount > 0) addExogenousMoments(problem, range, layout, calendar, uu, uy);
  return { m, horizon: H, count, uu, uy, yy };
}

/**
 * The moments of the exogenous windows e_t (the last exoLookback values of each covariate before origin t) with
 * themselves, the intercept and the calendar (the same for every series, so counted once per series), and with the
 * lags and targets of each series. Direct accumulation, O(n·E·(E + L + H)).
 */
function addExogenousMoments(
  problem: SeriesProblem,
  range: { first: number; last: number },
  layout: Layout,
  calendar: CalendarTerm[],
  uu: Float64Array,
  uy: Float64Array,
): void {
  const { lookback: L, exoCount, exoLookback: Lx, m } = layout;
  const H = problem.horizon;
  const covariates = problem.exogenous!.series;
  const E = exoCount * Lx;
  const base = L + 1;
  const copies = problem.series.length;
  const e = new Float64Array(E);
  for (let t = range.first; t <= range.last; t++) {
    for (let k = 0; k < exoCount; k++) e.set(covariates[k]!.subarray(t - Lx, t), k * Lx);
    for (let a = 0; a < E; a++) {
      const ea = e[a]! * copies;
      const row = (base + a) * m;
      for (let b = 0; b < E; b++) uu[row + base + b]! += ea * e[b]!;
      uu[row + L]! += ea;
      uu[L * m + base + a]! += ea;
      for (let c = 0; c < calendar.length; c++) {
        const r = layout.calendarOffsets[c]! + phaseOf(problem.times![t]!, calendar[c]!);
        uu[row + r]! += ea;
        uu[r * m + base + a]! += ea;
      }
    }
    for (const s of problem.series) {
      for (let a = 0; a < E; a++) {
        const ea = e[a]!;
        const row = (base + a) * m;
        for (let j = 0; j < L; j++) {
          const v = ea * s[t - L + j]!;
          uu[row + j]! += v;
          uu[j * m + base + a]! += v;
        }
        for (let h = 0; h < H; h++) uy[(base + a) * H + h]! += ea * s[t + h]!;
      }
    }
  }
}

function addMoments(a: Moments, b: Moments): Moments {
  const sum = (x: Float64Array, y: Float64Array) => x.map((v, i) => v + y[i]!);
  return {
    m: a.m,
    horizon: a.horizon,
    count: a.count + b.count,
    uu: sum(a.uu, b.uu),
    uy: sum(a.uy, b.uy),
    yy: sum(a.yy, b.yy),
  };
}

function subtractMoments(a: Moments, b: Moments): Moments {
  const diff = (x: Float64Array, y: Float64Array) => x.map((v, i) => v - y[i]!);
  return {
    m: a.m,
    horizon: a.horizon,
    count: a.count - b.count,
    uu: diff(a.uu, b.uu),
    uy: diff(a.uy, b.uy),
    yy: diff(a.yy, b.yy),
  };
}

/** The moments of the targets at `steps` only (a predictor fitted on them has one row per listed step). */
function restrictSteps(mo: Moments, steps: number[]): Moments {
  const H = mo.horizon;
  if (steps.length === H) return mo;
  const uy = new Float64Array(mo.m * steps.length);
  for (let i = 0; i < mo.m; i++) steps.forEach((h, k) => (uy[i * steps.length + k] = mo.uy[i * H + h]!));
  return {
    m: mo.m,
    horizon: steps.length,
    count: mo.count,
    uu: mo.uu,
    uy,
    yy: Float64Array.from(steps, (h) => mo.yy[h]!),
  };
}

/**
 * Horizon steps scored by cross-validation: all up to SCORED_STEPS, else every k-th counted back from the last. The
 * errors of neighbouring steps differ little, and the cost of a fold's solve and score grows with the steps scored
 * (it is most of the fitting time at H = 720).
 */
export const SCORED_STEPS = 96;
export function scoredSteps(horizon: number): number[] {
  const stride = Math.ceil(horizon / SCORED_STEPS);
  const steps: number[] = [];
  for (let h = horizon - 1; h >= 0; h -= stride) steps.push(h);
  return steps.reverse();
}

/** A variant as sparse feature rows over u, the target offset n (y' = y − n·u) and which features are penalised. */
interface Design {
  rows: { index: Int32Array; value: Float64Array }[];
  offset: Float64Array;
  penalty: Float64Array;
  /** A full penalty matrix over the first `lookback` features (replacing their diagonal penalty), row-major. */
  penaltyBlock?: Float64Array;
}

/**
 * DLinear's penalty in the lookback space. DLinear fits β = Mᵀ·w_t + (I − M)ᵀ·w_r (trend and remainder weights,
 * M the moving average) with ridge on (w_t, w_r); the smallest such penalty for a given β is βᵀ·Ω⁻¹·β with
 * Ω = MᵀM + (I − M)ᵀ(I − M). Solving in the L-dimensional β space with that penalty is the same model at half the
 * dimension (an eighth of the factorisation cost).
 */
function dlinearPenalty(lookback: number): Float64Array {
  const L = lookback;
  const k = Math.min(DLINEAR_KERNEL, L % 2 === 1 ? L : Math.max(1, L - 1));
  const half = (k - 1) / 2;
  const m = new Float64Array(L * L);
  for (let j = 0; j < L; j++)
    for (let i = -half; i <= half; i++) m[j * L + Math.min(L - 1, Math.max(0, j + i))]! += 1 / k;
  const omega = new Float64Array(L * L);
  for (let a = 0; a < L; a++)
    for (let b = 0; b < L; b++) {
      let s = 0;
      for (let j = 0; j < L; j++) {
        const ma = m[j * L + a]!;
        const mb = m[j * L + b]!;
        s += ma * mb + ((j === a ? 1 : 0) - ma) * ((j === b ? 1 : 0) - mb);
      }
      omega[a * L + b] = s;
    }
  const identity = new Float64Array(L * L);
  for (let i = 0; i < L; i++) identity[i * L + i] = 1;
  return solveSpd(omega, L, identity, L);
}

/** `extraColumns`: penalised inputs beyond the lags and intercept (exogenous windows, calendar one-hots). */
function design(kind: LinearKind, lookback: number, m: number, extraColumns: number[]): Design {
  const L = lookback;
  const rows: Design['rows'] = [];
  const penalty: number[] = [];
  const row = (pairs: [number, number][]) => {
    const merged = new Map<number, number>();
    for (const [i, v] of pairs) merged.set(i, (merged.get(i) ?? 0) + v);
    const entries = [...merged].filter(([, v]) => v !== 0).sort((a, b) => a[0] - b[0]);
    rows.push({ index: Int32Array.from(entries.map((e) => e[0])), value: Float64Array.from(entries.map((e) => e[1])) });
    penalty.push(1);
  };
  const offset = new Float64Array(m);
  if (kind === 'linear') for (let j = 0; j < L; j++) row([[j, 1]]);
  else if (kind === 'nlinear') {
    for (let j = 0; j < L - 1; j++)
      row([
        [j, 1],
        [L - 1, -1],
      ]);
    offset[L - 1] = 1;
  } else for (let j = 0; j < L; j++) row([[j, 1]]);
  row([[L, 1]]);
  penalty[penalty.length - 1] = 0; // the intercept
  for (const c of extraColumns) row([[c, 1]]);
  const d: Design = { rows, offset, penalty: Float64Array.from(penalty) };
  if (kind === 'dlinear') {
    d.penaltyBlock = dlinearPenalty(L);
    d.penalty.fill(0, 0, L);
  }
  return d;
}

/** Solves one ridge strength on `fit` moments; returns the predictor P (horizon × m) in u-space. */
function solvePredictor(d: Design, mo: Moments, lambdaPerWindow: number): Float64Array {
  const { m, horizon: H } = mo;
  const dim = d.rows.length;
  // T = A·Euu (dim × m), G = T·Aᵀ, C = A·Euy − (T·n)·1ᵀ.
  const t = new Float64Array(dim * m);
  for (let a = 0; a < dim; a++) {
    const { index, value } = d.rows[a]!;
    for (let q = 0; q < index.length; q++) {
      const base = index[q]! * m;
      const v = value[q]!;
      for (let j = 0; j < m; j++) t[a * m + j]! += v * mo.uu[base + j]!;
    }
  }
  const g = new Float64Array(dim * dim);
  for (let a = 0; a < dim; a++)
    for (let b = a; b < dim; b++) {
      const { index, value } = d.rows[b]!;
      let s = 0;
      for (let q = 0; q < index.length; q++) s += t[a * m + index[q]!]! * value[q]!;
      g[a * dim + b] = s;
      g[b * dim + a] = s;
    }
  const c = new Float64Array(dim * H);
  for (let a = 0; a < dim; a++) {
    const { index, value } = d.rows[a]!;
    let tn = 0;
    for (let j = 0; j < m; j++) if (d.offset[j] !== 0) tn += t[a * m + j]! * d.offset[j]!;
    for (let h = 0; h < H; h++) {
      let s = -tn;
      for (let q = 0; q < index.length; q++) s += value[q]! * mo.uy[index[q]! * H + h]!;
      c[a * H + h] = s;
    }
  }
  const lambda = lambdaPerWindow * mo.count;
  if (d.penaltyBlock) {
    const L = Math.round(Math.sqrt(d.penaltyBlock.length));
    for (let a = 0; a < L; a++) for (let b = 0; b < L; b++) g[a * dim + b]! += lambda * d.penaltyBlock[a * L + b]!;
  }
  const w = ridgeSolve(g, c, dim, H, lambda, d.penalty);
  // P_h = Σ_a W[a, h]·A_a + n.
  const p = new Float64Array(H * m);
  for (let h = 0; h < H; h++) for (let j = 0; j < m; j++) p[h * m + j] = d.offset[j]!;
  for (let a = 0; a < dim; a++) {
    const { index, value } = d.rows[a]!;
    for (let h = 0; h < H; h++) {
      const wa = w[a * H + h]!;
      for (let q = 0; q < index.length; q++) p[h * m + index[q]!]! += wa * value[q]!;
    }
  }
  return p;
}

/** Mean squared error of predictor P over the windows summarised by `mo`. */
function predictorMse(p: Float64Array, mo: Moments): number {
  const { m, horizon: H } = mo;
  if (mo.count === 0) return NaN;
  let sse = 0;
  const pu = new Float64Array(m);
  for (let h = 0; h < H; h++) {
    const row = h * m;
    pu.fill(0);
    for (let i = 0; i < m; i++) {
      const pi = p[row + i]!;
      if (pi === 0) continue;
      const base = i * m;
      for (let j = 0; j < m; j++) pu[j]! += pi * mo.uu[base + j]!;
    }
    let quad = 0;
    let lin = 0;
    for (let j = 0; j < m; j++) {
      quad += pu[j]! * p[row + j]!;
      lin += p[row + j]! * mo.uy[j * H + h]!;
    }
    sse += mo.yy[h]! - 2 * lin + quad;
  }
  return Math.max(0, sse / (mo.count * H));
}

interface Selected {
  kind: LinearKind;
  calendar: boolean;
  exogenous: boolean;
  lambda: number;
  validationMse: number;
  /** Validation MSE per block of the scheme (per fold, or per stretch of the validation part). */
  blockMse: number[];
  /** Validation MSE per ridge strength of the selected calendar/exogenous configuration. */
  curve: (number | null)[];
  /** One predictor per fit of the scheme (u-space of the full layout), for the ensemble's subset choice. */
  predictors: Float64Array[];
  /** Fitted on train only, u-space of the full layout (for the blend's validation forecasts). */
  trainPredictor: Float64Array;
  /** False when the deadline cut the grid short. */
  complete: boolean;
}

/**
 * How a configuration is scored: each block's windows are predicted by the predictor fitted on `fits[block.fit]`.
 * Cross-validation: one fit per fold. Split: one fit (the training part) for every stretch of the validation part.
 */
interface Scheme {
  kind: 'cross-validation' | 'split';
  /** With cross-validation, over the scoredSteps of the horizon only. */
  fits: Moments[];
  blocks: { fit: number; held: Moments }[];
}

interface Prepared {
  terms: CalendarTerm[];
  layout: Layout;
  train: Moments;
  valid: Moments;
  scheme: Scheme;
  calendarColumns: number[];
  exogenousColumns: number[];
}

/** Folds of the blocked cross-validation. */
export const CV_FOLDS = 5;

/**
 * Blocked K-fold cross-validation over the windows of [0, validEnd): fold b holds out a contiguous block of origins
 * and is fitted on every window that shares no value with it (origins closer than lookback + horizon to the block
 * are dropped: their inputs or targets overlap the block's), so no held-out value is seen by its fit. Null when a
 * fold would keep fewer than half of the windows to fit on (short series: the split is used instead).
 */
export function crossValidationFolds(
  first: number,
  last: number,
  lookback: number,
  horizon: number,
  folds = CV_FOLDS,
): { held: { first: number; last: number }; dropped: { first: number; last: number } }[] | null {
  const n = last - first + 1;
  if (n < folds) return null;
  const gap = lookback + horizon - 1;
  const out: { held: { first: number; last: number }; dropped: { first: number; last: number } }[] = [];
  for (let b = 0; b < folds; b++) {
    const held = { first: first + Math.floor((b * n) / folds), last: first + Math.floor(((b + 1) * n) / folds) - 1 };
    const dropped = { first: Math.max(first, held.first - gap), last: Math.min(last, held.last + gap) };
    if (n - (dropped.last - dropped.first + 1) < n / 2) return null;
    out.push({ held, dropped });
  }
  return out;
}

function schemeOf(
  problem: SeriesProblem,
  train: Moments,
  validBlocks: Moments[],
  terms: CalendarTerm[],
  exo: boolean,
): Scheme {
  const range = windowOrigins(0, problem.validEnd, problem.lookback, problem.horizon)!;
  const folds = crossValidationFolds(range.first, range.last, problem.lookback, problem.horizon);
  if (folds) {
    const steps = scoredSteps(problem.horizon);
    const moments = (r: { first: number; last: number }) =>
      restrictSteps(momentsOfOrigins(problem, r, terms, exo), steps);
    // Every window of [0, validEnd), those whose targets straddle trainEnd included.
    const all = moments(range);
    return {
      kind: 'cross-validation',
      fits: folds.map((f) => subtractMoments(all, moments(f.dropped))),
      blocks: folds.map((f, b) => ({ fit: b, held: moments(f.held) })),
    };
  }
  // Without a validation part, the training windows themselves (an optimistic last resort).
  const held = validBlocks.length > 0 ? validBlocks : [train];
  return { kind: 'split', fits: [train], blocks: held.map((h) => ({ fit: 0, held: h })) };
}

/** Per-block MSE and their window-weighted mean, each block predicted by its own fit's predictor. */
function schemeMse(scheme: Scheme, predictors: Float64Array[]): { mse: number; blocks: number[] } {
  const blocks = scheme.blocks.map((b) => predictorMse(predictors[b.fit]!, b.held));
  let sum = 0;
  let count = 0;
  scheme.blocks.forEach((b, i) => {
    sum += blocks[i]! * b.held.count;
    count += b.held.count;
  });
  return { mse: count > 0 ? sum / count : NaN, blocks };
}

/**
 * Work shared between the variants and the ensemble when they are fitted on the same problem object (as the
 * orchestration does): moments, per-variant selections and refits. Keyed by object identity, so a problem must not
 * be mutated after a fit; results are the same with or without the cache.
 */
const shared = new WeakMap<SeriesProblem, Map<string, unknown>>();

function memo<T>(problem: SeriesProblem, key: string, compute: () => T, keep: (v: T) => boolean = () => true): T {
  let entries = shared.get(problem);
  if (!entries) shared.set(problem, (entries = new Map()));
  if (entries.has(key)) return entries.get(key) as T;
  const value = compute();
  if (keep(value)) entries.set(key, value);
  return value;
}

function prepare(problem: SeriesProblem, allowCalendar: boolean, allowExogenous: boolean): Prepared {
  return memo(problem, `prep:${allowCalendar}:${allowExogenous}`, () =>
    computePrepared(problem, allowCalendar, allowExogenous),
  );
}

function computePrepared(problem: SeriesProblem, allowCalendar: boolean, allowExogenous: boolean): Prepared {
  const terms = allowCalendar && problem.times ? calendarTerms(problem.stepMs, problem.period) : [];
  const exo = exogenousOf(problem, allowExogenous);
  const layout = layoutOf(problem.lookback, exo, terms);
  const train = momentsOf(problem, 0, problem.trainEnd, terms, exo !== null);
  const validBlocks: Moments[] = [];
  const range = windowOrigins(problem.trainEnd, problem.validEnd, problem.lookback, problem.horizon);
  if (range) {
    const n = range.last - range.first + 1;
    const blocks = Math.max(1, Math.min(10, Math.floor(n / problem.horizon)));
    for (let b = 0; b < blocks; b++) {
      const first = range.first + Math.floor((b * n) / blocks);
      const last = range.first + Math.floor(((b + 1) * n) / blocks) - 1;
      validBlocks.push(momentsOfOrigins(problem, { first, last }, terms, exo !== null));
    }
  }
  const valid =
    validBlocks.length > 0 ? validBlocks.reduce(addMoments) : momentsOfOrigins(problem, null, terms, exo !== null);
  const scheme = schemeOf(problem, train, validBlocks, terms, exo !== null);
  const exogenousColumns: number[] = [];
  const exoEnd = problem.lookback + 1 + layout.exoCount * layout.exoLookback;
  for (let j = problem.lookback + 1; j < exoEnd; j++) exogenousColumns.push(j);
  const calendarColumns: number[] = [];
  for (let j = exoEnd; j < train.m; j++) calendarColumns.push(j);
  return { terms, layout, train, valid, scheme, calendarColumns, exogenousColumns };
}

function checkProblem(problem: SeriesProblem): void {
  if (!windowOrigins(0, problem.trainEnd, problem.lookback, problem.horizon))
    throw new RangeError('no complete training window: the training part is shorter than lookback + horizon');
  const exo = problem.exogenous;
  if (exo && exo.series.length > 0) {
    if (!Number.isInteger(exo.lookback) || exo.lookback < 1 || exo.lookback > problem.lookback)
      throw new RangeError(`the exogenous lookback must be an integer in [1, ${problem.lookback}]`);
    if (exo.series.some((c) => c.length < problem.validEnd))
      throw new RangeError('every exogenous column must cover the training and validation parts');
  }
}

function extraColumns(prep: Prepared, calendar: boolean, exogenous: boolean): number[] {
  return [...(exogenous ? prep.exogenousColumns : []), ...(calendar ? prep.calendarColumns : [])];
}

function selectVariant(
  kind: LinearKind,
  prep: Prepared,
  problem: SeriesProblem,
  opts: FitOptions,
  lambdas: readonly number[],
): Selected {
  const key = `sel:${kind}:${prep.calendarColumns.length}:${prep.exogenousColumns.length}:${lambdas.join(',')}`;
  // A selection cut short by the deadline is not reused.
  return memo(
    problem,
    key,
    () => computeSelection(kind, prep, problem, opts, lambdas),
    (s) => s.complete,
  );
}

function computeSelection(
  kind: LinearKind,
  prep: Prepared,
  problem: SeriesProblem,
  opts: FitOptions,
  lambdas: readonly number[],
): Selected {
  let best: { sel: Selected; design: Design } | null = null;
  const calendarChoices = prep.calendarColumns.length > 0 ? [false, true] : [false];
  const exogenousChoices = prep.exogenousColumns.length > 0 ? [false, true] : [false];
  const total = calendarChoices.length * exogenousChoices.length * lambdas.length;
  const { scheme } = prep;
  // With a split the one fit is the training part's; with folds (scored on some steps) the blend still needs a
  // train-only predictor of every step.
  const finish = (b: { sel: Selected; design: Design }, complete: boolean): Selected => ({
    ...b.sel,
    trainPredictor: scheme.kind === 'split' ? b.sel.predictors[0]! : solvePredictor(b.design, prep.train, b.sel.lambda),
    complete,
  });
  let iteration = 0;
  for (const exogenous of exogenousChoices)
    for (const calendar of calendarChoices) {
      const d = design(kind, problem.lookback, prep.train.m, extraColumns(prep, calendar, exogenous));
      const curve: (number | null)[] = [];
      let configBest: Selected | null = null;
      for (const lambda of lambdas) {
        opts.signal?.throwIfAborted();
        const predictors = scheme.fits.map((f) => solvePredictor(d, f, lambda));
        const { mse, blocks } = schemeMse(scheme, predictors);
        curve.push(Number.isFinite(mse) ? mse : null);
        iteration++;
        opts.progress?.({ phase: 'selecting', algorithm: kind, iteration, of: total, validLoss: mse });
        if (configBest === null || mse < configBest.validationMse)
          configBest = {
            kind,
            calendar,
            exogenous,
            lambda,
            validationMse: mse,
            blockMse: blocks,
            curve,
            predictors,
            trainPredictor: predictors[0]!,
            complete: true,
          };
        if (opts.deadline !== undefined && Date.now() > opts.deadline && iteration < total) {
          if (best === null || configBest.validationMse < best.sel.validationMse) best = { sel: configBest, design: d };
          return finish(best, false);
        }
      }
      if (best === null || configBest!.validationMse < best.sel.validationMse) best = { sel: configBest!, design: d };
    }
  return finish(best!, true);
}

function refit(sel: Selected, prep: Prepared, problem: SeriesProblem): Float64Array {
  const key = `refit:${sel.kind}:${prep.calendarColumns.length}:${prep.exogenousColumns.length}:${sel.calendar}:${sel.exogenous}:${sel.lambda}`;
  return memo(problem, key, () => computeRefit(sel, prep, problem));
}

function computeRefit(sel: Selected, prep: Prepared, problem: SeriesProblem): Float64Array {
  const all = prep.valid.count > 0 ? addMoments(prep.train, prep.valid) : prep.train;
  const d = design(sel.kind, problem.lookback, all.m, extraColumns(prep, sel.calendar, sel.exogenous));
  return solvePredictor(d, all, sel.lambda);
}

/** Lag buckets, exogenous columns and calendar terms as named column groups of the layout. */
function importanceGroups(problem: SeriesProblem, prep: Prepared): { feature: string; columns: number[] }[] {
  const L = problem.lookback;
  const groups: { feature: string; columns: number[] }[] = [];
  const size = problem.period !== null && problem.period >= 2 && problem.period < L ? problem.period : Math.ceil(L / 8);
  // Lag k (1 = the most recent value) is column L − k.
  for (let from = 1; from <= L; from += size) {
    const to = Math.min(L, from + size - 1);
    const columns: number[] = [];
    for (let k = from; k <= to; k++) columns.push(L - k);
    groups.push({ feature: from === to ? `lag ${from}` : `lags ${from}-${to}`, columns });
  }
  const { exoCount, exoLookback } = prep.layout;
  for (let k = 0; k < exoCount; k++)
    groups.push({
      feature: problem.exogenous!.names[k]!,
      columns: Array.from({ length: exoLookback }, (_, j) => L + 1 + k * exoLookback + j),
    });
  prep.terms.forEach((term, c) => {
    const first = prep.layout.calendarOffsets[c]!;
    const name =
      term.unitMs === DAY_MS && term.cycle === 7
        ? 'day of week'
        : term.cycle * term.unitMs === DAY_MS
          ? 'time of day'
          : `phase of ${term.cycle}`;
    groups.push({ feature: name, columns: Array.from({ length: term.cycle }, (_, j) => first + j) });
  });
  return groups;
}

/** The closed-form expected permutation importance of predictor P (see LinearArtifact.importance). */
function permutationImportance(
  problem: SeriesProblem,
  prep: Prepared,
  p: Float64Array,
): { feature: string; value: number }[] {
  const mo = prep.valid.count > 0 ? prep.valid : prep.train;
  const { m, horizon: H, count } = mo;
  if (count === 0) return [];
  const mean = new Float64Array(m);
  for (let i = 0; i < m; i++) mean[i] = mo.uu[i * m + problem.lookback]! / count; // the intercept column is Σ u
  return importanceGroups(problem, prep)
    .map(({ feature, columns }) => {
      let total = 0;
      for (let h = 0; h < H; h++) {
        const row = h * m;
        for (const a of columns) {
          const pa = p[row + a]!;
          if (pa === 0) continue;
          for (const b of columns) {
            const cov = mo.uu[a * m + b]! / count - mean[a]! * mean[b]!;
            total += pa * p[row + b]! * cov;
          }
        }
      }
      return { feature, value: Math.max(0, (2 * total) / H) };
    })
    .filter((g) => Number.isFinite(g.value));
}

function toArtifact(
  kind: LinearArtifact['kind'],
  problem: SeriesProblem,
  prep: Prepared,
  p: Float64Array,
  params: Record<string, unknown>,
  validation: LinearArtifact['validation'],
): LinearArtifact {
  const m = prep.train.m;
  const L = problem.lookback;
  const weights: number[][] = [];
  for (let h = 0; h < problem.horizon; h++) weights.push(Array.from(p.subarray(h * m, (h + 1) * m)));
  const usesAny = (columns: number[]) => weights.some((row) => columns.some((j) => row[j] !== 0));
  // Inputs no member uses are dropped so inference needs neither times nor covariates it does not use.
  const calendar = prep.terms.length > 0 && usesAny(prep.calendarColumns) ? prep.terms : [];
  const exogenous = prep.exogenousColumns.length > 0 && usesAny(prep.exogenousColumns);
  const keep = [...Array.from({ length: L + 1 }, (_, j) => j), ...(exogenous ? prep.exogenousColumns : [])];
  if (calendar.length > 0) keep.push(...prep.calendarColumns);
  const compact = keep.length === m ? weights : weights.map((row) => keep.map((j) => row[j]!));
  return {
    kind,
    lookback: L,
    horizon: problem.horizon,
    calendar,
    ...(exogenous ? { exogenous: { count: prep.layout.exoCount, lookback: prep.layout.exoLookback } } : {}),
    weights: compact,
    params,
    validation,
    importance: permutationImportance(problem, prep, p),
  };
}

function readParams(opts: FitOptions): { calendar: boolean; exogenous: boolean; lambdas: readonly number[] } {
  const params = opts.params ?? {};
  for (const key of Object.keys(params))
    if (key !== 'calendar' && key !== 'lambda' && key !== 'exogenous')
      throw new RangeError(`unknown parameter "${key}"`);
  const calendar = params['calendar'] === undefined ? true : params['calendar'] === true;
  const exogenous = params['exogenous'] === undefined ? true : params['exogenous'] === true;
  const lambda = params['lambda'];
  if (lambda !== undefined && (typeof lambda !== 'number' || !(lambda >= 0)))
    throw new RangeError('parameter "lambda" must be a non-negative number');
  return { calendar, exogenous, lambdas: typeof lambda === 'number' ? [lambda] : LAMBDA_GRID };
}

function makeAlgorithm(kind: LinearKind): ForecastAlgorithm<LinearArtifact> {
  return {
    name: kind,
    minHistory: (p) => p.lookback,
    fit(problem, opts) {
      checkProblem(problem);
      const { calendar, exogenous, lambdas } = readParams(opts);
      const prep = prepare(problem, calendar, exogenous);
      const sel = selectVariant(kind, prep, problem, opts, lambdas);
      opts.progress?.({ phase: 'refitting', algorithm: kind });
      const p = refit(sel, prep, problem);
      return Promise.resolve(
        toArtifact(
          kind,
          problem,
          prep,
          p,
          { lambda: sel.lambda, calendar: sel.calendar, exogenous: sel.exogenous },
          {
            mse: sel.validationMse,
            blocks: sel.blockMse,
            curve: sel.curve,
          },
        ),
      );
    },
    forecast: forecastLinear,
  };
}

export const linear = makeAlgorithm('linear');
export const nlinear = makeAlgorithm('nlinear');
export const dlinear = makeAlgorithm('dlinear');

/**
 * The average of a subset of {nlinear, linear, dlinear} (each with its own selected configuration), the subset chosen
 * on validation by the one-standard-error rule (oneStandardErrorChoice); the members are then refitted on train +
 * validation.
 */
export const linearEnsemble: ForecastAlgorithm<LinearArtifact> = {
  name: 'linear-ensemble',
  minHistory: (p) => p.lookback,
  fit: (problem, opts) => Promise.resolve(fitEnsemble(problem, opts).artifact),
  forecast: forecastLinear,
};

/**
 * The ensemble as fitted (refitted on train + validation), as fitted on train only, and as fitted without each
 * cross-validation fold (null with a split), for a blend that must weigh it on forecasts of windows its fit did not
 * see.
 */
export function fitEnsemble(
  problem: SeriesProblem,
  opts: FitOptions,
): { artifact: LinearArtifact; trainOnly: LinearArtifact; folds: LinearArtifact[] | null } {
  checkProblem(problem);
  const { calendar, exogenous, lambdas } = readParams(opts);
  const prep = prepare(problem, calendar, exogenous);
  // Parsimony order: the level-free NLinear first, as in AUTO_CANDIDATES.
  const kinds: LinearKind[] = ['nlinear', 'linear', 'dlinear'];
  const members = kinds.map((k) => selectVariant(k, prep, problem, opts, lambdas));
  const m = prep.train.m;
  const size = problem.horizon * m;
  const average = (subset: number[], pick: (s: Selected) => Float64Array) => {
    const avg = new Float64Array(size);
    for (const i of subset) {
      const p = pick(members[i]!);
      for (let q = 0; q < size; q++) avg[q]! += p[q]! / subset.length;
    }
    return avg;
  };
  const candidates = ensembleSubsets(members.length).map((subset) => {
    const predictors = prep.scheme.fits.map((_, f) => average(subset, (s) => s.predictors[f]!));
    return { subset, predictors, ...schemeMse(prep.scheme, predictors) };
  });
  const curve = candidates.map((c) => (Number.isFinite(c.mse) ? c.mse : null));
  const best = candidates[oneStandardErrorChoice(candidates)]!;
  opts.progress?.({ phase: 'refitting', algorithm: 'linear-ensemble' });
  const refitted = new Float64Array(size);
  for (const i of best.subset) {
    const p = refit(members[i]!, prep, problem);
    for (let q = 0; q < size; q++) refitted[q]! += p[q]! / best.subset.length;
  }
  const params = {
    members: best.subset.map((i) => ({
      kind: members[i]!.kind,
      lambda: members[i]!.lambda,
      calendar: members[i]!.calendar,
      exogenous: members[i]!.exogenous,
    })),
  };
  const validation = { mse: best.mse, blocks: best.blocks, curve };
  const trainOnly = average(best.subset, (s) => s.trainPredictor);
  return {
    artifact: toArtifact('ensemble', problem, prep, refitted, params, validation),
    trainOnly: toArtifact('ensemble', problem, prep, trainOnly, params, validation),
    folds: prep.scheme.kind === 'cross-validation' ? best.predictors.map((p) => foldArtifact(problem, prep, p)) : null,
  };
}

/**
 * A fold's predictor as an artifact forecasting the scored steps only (row k is step scoredSteps(horizon)[k]), for
 * the blend's cross-validated weight. Full layout; not for storage.
 */
function foldArtifact(problem: SeriesProblem, prep: Prepared, p: Float64Array): LinearArtifact {
  const m = prep.train.m;
  const rows = p.length / m;
  const { exoCount, exoLookback } = prep.layout;
  return {
    kind: 'ensemble',
    lookback: problem.lookback,
    horizon: rows,
    calendar: prep.terms,
    ...(exoCount > 0 ? { exogenous: { count: exoCount, lookback: exoLookback } } : {}),
    weights: Array.from({ length: rows }, (_, h) => Array.from(p.subarray(h * m, (h + 1) * m))),
    params: {},
    validation: { mse: NaN, blocks: [] },
  };
}

/** Every non-empty subset of `count` members, fewest members first (then in member order): the parsimony order. */
export function ensembleSubsets(count: number): number[][] {
  const out: number[][] = [];
  for (let mask = 1; mask < 1 << count; mask++)
    out.push(Array.from({ length: count }, (_, i) => i).filter((i) => mask & (1 << i)));
  return out.sort((a, b) => a.length - b.length || a.join().localeCompare(b.join()));
}

/**
 * The one-standard-error rule over candidates in parsimony order: the first whose per-block MSE exceeds the lowest
 * candidate's by no more than the standard error of the paired per-block differences. Averaging more members only
 * when it helps by more than the noise of the estimate keeps a near-tie (a few folds) from deciding the model.
 */
export function oneStandardErrorChoice(candidates: { mse: number; blocks: number[] }[]): number {
  let best = 0;
  candidates.forEach((c, i) => {
    if (c.mse < candidates[best]!.mse - 1e-12) best = i;
  });
  const reference = candidates[best]!.blocks;
  if (reference.length < 2) return best;
  for (let i = 0; i < best; i++) {
    const blocks = candidates[i]!.blocks;
    if (blocks.length !== reference.length) continue;
    const diffs = blocks.map((b, k) => b - reference[k]!);
    const mean = diffs.reduce((a, d) => a + d, 0) / diffs.length;
    const variance = diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / (diffs.length - 1);
    if (mean <= Math.sqrt(variance / diffs.length)) return i;
  }
  return best;
}

export { forecastLinear };

function forecastLinear(
  artifact: LinearArtifact,
  series: Float64Array,
  origins: ArrayLike<number>,
  horizon: number,
  times: ((index: number) => number) | null,
  exogenous?: Float64Array[] | null,
): Float64Array {
  const { lookback: L, calendar } = artifact;
  if (horizon > artifact.horizon)
    throw new RangeError(`horizon ${horizon} exceeds the trained horizon ${artifact.horizon}`);
  if (calendar.length > 0 && times === null) throw new RangeError('this model uses calendar terms and needs times');
  const exo = artifact.exogenous ?? null;
  if (exo && (!exogenous || exogenous.length !== exo.count))
    throw new RangeError(`this model uses ${exo?.count} exogenous columns and needs their history`);
  const layout = layoutOf(L, exo, calendar);
  const offsets = layout.calendarOffsets;
  const m = layout.m;
  const flat = new Float64Array(horizon * m);
  for (let h = 0; h < horizon; h++) flat.set(artifact.weights[h]!, h * m);
  const out = new Float64Array(origins.length * horizon);
  const cols = new Int32Array(calendar.length);
  let o = 0;
  // Four origins at a time share each weight load (about twice as fast as one by one); the rest one by one.
  const c4 = Array.from({ length: 4 }, () => new Int32Array(calendar.length));
  for (; o + 4 <= origins.length; o += 4) {
    for (let q = 0; q < 4; q++)
      for (let c = 0; c < calendar.length; c++)
        c4[q]![c] = offsets[c]! + phaseOf(times!(origins[o + q]!), calendar[c]!);
    const b0 = origins[o]! - L;
    const b1 = origins[o + 1]! - L;
    const b2 = origins[o + 2]! - L;
    const b3 = origins[o + 3]! - L;
    for (let h = 0; h < horizon; h++) {
      const row = h * m;
      const bias = flat[row + L]!;
      let s0 = bias;
      let s1 = bias;
      let s2 = bias;
      let s3 = bias;
      for (let j = 0; j < L; j++) {
        const w = flat[row + j]!;
        s0 += w * series[b0 + j]!;
        s1 += w * series[b1 + j]!;
        s2 += w * series[b2 + j]!;
        s3 += w * series[b3 + j]!;
      }
      for (let c = 0; c < calendar.length; c++) {
        s0 += flat[row + c4[0]![c]!]!;
        s1 += flat[row + c4[1]![c]!]!;
        s2 += flat[row + c4[2]![c]!]!;
        s3 += flat[row + c4[3]![c]!]!;
      }
      out[o * horizon + h] = s0;
      out[(o + 1) * horizon + h] = s1;
      out[(o + 2) * horizon + h] = s2;
      out[(o + 3) * horizon + h] = s3;
    }
  }
  for (; o < origins.length; o++) {
    const t = origins[o]!;
    const base = t - L;
    for (let c = 0; c < calendar.length; c++) cols[c] = offsets[c]! + phaseOf(times!(t), calendar[c]!);
    for (let h = 0; h < horizon; h++) {
      const row = h * m;
      let s = flat[row + L]!;
      for (let j = 0; j < L; j++) s += flat[row + j]! * series[base + j]!;
      for (let c = 0; c < cols.length; c++) s += flat[row + cols[c]!]!;
      out[o * horizon + h] = s;
    }
  }
  if (exo) addExogenousTerms(flat, m, L, exo, exogenous!, origins, horizon, out);
  return out;
}

/** Adds the covariate windows' contribution Σ_k Σ_j w[h, k, j]·x_k[t − Lx + j] to every forecast. */
function addExogenousTerms(
  flat: Float64Array,
  m: number,
  L: number,
  exo: { count: number; lookback: number },
  columns: Float64Array[],
  origins: ArrayLike<number>,
  horizon: number,
  out: Float64Array,
): void {
  const Lx = exo.lookback;
  for (let o = 0; o < origins.length; o++) {
    const t = origins[o]!;
    if (t < Lx) throw new RangeError(`origin ${t} has less than ${Lx} values of exogenous history`);
    for (let k = 0; k < exo.count; k++) {
      const x = columns[k]!;
      if (x.length < t) throw new RangeError('the exogenous history is shorter than the series');
      const base = L + 1 + k * Lx;
      for (let h = 0; h < horizon; h++) {
        const row = h * m + base;
        let s = 0;
        for (let j = 0; j < Lx; j++) s += flat[row + j]! * x[t - Lx + j]!;
        out[o * horizon + h]! += s;
      }
    }
  }
}
