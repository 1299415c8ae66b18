import { ridgeSolve } from '../linalg.js';
import { readParams } from '../neural/params.js';
import type { FitOptions, Matrix, TabularAlgorithm, TabularProblem, TabularTask } from '../types.js';

/**
 * The tabular linear model 'linear': ridge regression in closed form (normal equations) and multinomial logistic
 * regression with an L2 penalty (L-BFGS on the mean log loss). Both choose the penalty strength on the validation
 * part from a fixed grid, so the fit is deterministic (the seed is not used: nothing here is random).
 *
 * Input is the encoded, scaled matrix of the tabular pipeline. Categorical code columns are one-hot encoded here:
 * one indicator per code seen in the training part (at most `maxLevels`, the most frequent codes since the encoder
 * numbers categories by train frequency); any other code (unseen, or beyond the cap) is all zeros. A missing (NaN)
 * measurement counts as 0, the training mean after standard scaling.
 *
 * Importance: the algorithm reports none of its own; the orchestration computes permutation importance, which is
 * comparable across algorithms (a coefficient's size depends on the scaling and, for one-hot levels, on the
 * intercept, so it is not reported as importance).
 *
 * Objective: mean per-row loss (½ squared error, or log loss) + (λ/2)·‖w‖², the intercepts unpenalised.
 */

/** One input column of the matrix and how it enters the model. */
export type LinearInput = { kind: 'numeric'; column: number } | { kind: 'onehot'; column: number; levels: number };

export interface LinearArtifact {
  /** 1 for regression, the number of classes for classification. */
  outputs: number;
  inputs: LinearInput[];
  /** outputs × width, width = Σ (1 per numeric input, `levels` per one-hot input), in `inputs` order. */
  weights: number[][];
  intercepts: number[];
  /** The penalty strength chosen on validation (or given). */
  lambda: number;
}

const PARAM_SPECS = {
  lambda: { kind: 'number', min: 0, max: 1e6 },
  maxLevels: { kind: 'int', min: 1, max: 1000 },
  maxIterations: { kind: 'int', min: 1, max: 10_000 },
} as const;

const REGRESSION_GRID = [10, 1, 0.1, 1e-2, 1e-3, 1e-4, 1e-6, 0];
const CLASSIFICATION_GRID = [1, 0.1, 1e-2, 1e-3, 1e-4, 1e-5];
/**
 * The grids run from the strongest penalty to the weakest and the validation loss is normally U-shaped along them:
 * after this many strengths in a row without a better validation loss, the weaker ones are not tried.
 */
const PATIENCE = 2;

/** The rows of a part as sparse active entries: `index` into the expanded width and `value`. */
interface Design {
  rows: number;
  /** Per row, `perRow` (index, value) pairs; unused slots have index −1. */
  index: Int32Array;
  value: Float64Array;
  perRow: number;
}

function layout(problem: TabularProblem, maxLevels: number): { inputs: LinearInput[]; width: number } {
  const inputs: LinearInput[] = [];
  let width = 0;
  problem.categorical.forEach((isCategorical, column) => {
    if (!isCategorical) {
      inputs.push({ kind: 'numeric', column });
      width++;
      return;
    }
    let top = -1;
    for (const code of problem.train.x.columns[column]!) if (code > top && code < maxLevels) top = code;
    const levels = Math.max(0, Math.floor(top) + 1);
    if (levels === 0) return;
    inputs.push({ kind: 'onehot', column, levels });
    width += levels;
  });
  return { inputs, width };
}

function design(x: Matrix, inputs: LinearInput[]): Design {
  const perRow = inputs.length;
  const index = new Int32Array(x.rows * perRow).fill(-1);
  const value = new Float64Array(x.rows * perRow);
  let offset = 0;
  inputs.forEach((input, slot) => {
    const col = x.columns[input.column]!;
    for (let r = 0; r < x.rows; r++) {
      const v = col[r]!;
      const at = r * perRow + slot;
      if (input.kind === 'numeric') {
        index[at] = offset;
        value[at] = Number.isFinite(v) ? v : 0;
      } else if (v >= 0 && v < input.levels && Number.isInteger(v)) {
        index[at] = offset + v;
        value[at] = 1;
      }
    }
    offset += input.kind === 'numeric' ? 1 : input.levels;
  });
  return { rows: x.rows, index, value, perRow };
}

/** Linear scores (rows × outputs, row-major) from a design. */
function scores(
  d: Design,
  weights: Float64Array,
  intercepts: ArrayLike<number>,
  outputs: number,
  width: number,
): Float64Array {
  const out = new Float64Array(d.rows * outputs);
  for (let r = 0; r < d.rows; r++) {
    for (let k = 0; k < outputs; k++) {
      let z = intercepts[k]!;
      const wk = k * width;
      for (let s = r * d.perRow, end = s + d.perRow; s < end; s++) {
        const j = d.index[s]!;
        if (j >= 0) z += weights[wk + j]! * d.value[s]!;
      }
      out[r * outputs + k] = z;
    }
  }
  return out;
}

function softmaxInPlace(z: Float64Array, rows: number, classes: number): void {
  for (let r = 0; r < rows; r++) {
    const o = r * classes;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) if (z[o + k]! > max) max = z[o + k]!;
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += z[o + k] = Math.exp(z[o + k]! - max);
    for (let k = 0; k < classes; k++) z[o + k]! /= sum;
  }
}

function meanSquaredError(p: Float64Array, y: Float64Array): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s += (p[i]! - y[i]!) ** 2;
  return y.length === 0 ? 0 : s / y.length;
}

function meanLogLoss(p: Float64Array, y: Float64Array, classes: number): number {
  let s = 0;
  for (let i = 0; i < y.length; i++) s -= Math.log(Math.max(p[i * classes + y[i]!]!, 1e-15));
  return y.length === 0 ? 0 : s / y.length;
}

function pastDeadline(opts: FitOptions): boolean {
  return opts.deadline !== undefined && Date.now() > opts.deadline;
}

// ---- Regression: ridge through the normal equations -------------------------------------------------------------

function fitRidge(
  problem: TabularProblem,
  inputs: LinearInput[],
  width: number,
  opts: FitOptions,
  lambda: number | undefined,
): LinearArtifact {
  const train = design(problem.train.x, inputs);
  const valid = design(problem.validation.x, inputs);
  const n = train.rows;
  // Moments with the intercept as the last coordinate (always 1, unpenalised).
  const d = width + 1;
  const gram = new Float64Array(d * d);
  const cross = new Float64Array(d);
  const idx = new Int32Array(train.perRow + 1);
  const val = new Float64Array(train.perRow + 1);
  for (let r = 0; r < n; r++) {
    let a = 0;
    for (let s = r * train.perRow, end = s + train.perRow; s < end; s++) {
      if (train.index[s]! < 0) continue;
      idx[a] = train.index[s]!;
      val[a++] = train.value[s]!;
    }
    idx[a] = width;
    val[a++] = 1;
    const y = problem.train.y[r]!;
    for (let p = 0; p < a; p++) {
      const ip = idx[p]!;
      const vp = val[p]!;
      cross[ip]! += vp * y;
      for (let q = 0; q < a; q++) gram[ip * d + idx[q]!]! += vp * val[q]!;
    }
  }
  const penalty = new Float64Array(d).fill(1);
  penalty[width] = 0;

  const grid = lambda !== undefined ? [lambda] : REGRESSION_GRID;
  let best: { lambda: number; w: Float64Array; loss: number } | null = null;
  let worse = 0;
  for (const [i, l] of grid.entries()) {
    opts.signal?.throwIfAborted();
    if (best && pastDeadline(opts)) break;
    const w = ridgeSolve(gram, cross, d, 1, l * n, penalty);
    const weights = w.subarray(0, width);
    const intercept = [w[width]!];
    const trainLoss = meanSquaredError(scores(train, weights, intercept, 1, width), problem.train.y);
    const validLoss =
      valid.rows > 0 ? meanSquaredError(scores(valid, weights, intercept, 1, width), problem.validation.y) : trainLoss;
    opts.progress?.({
      phase: 'selecting',
      algorithm: 'linear',
      iteration: i + 1,
      of: grid.length,
      trainLoss,
      validLoss,
    });
    if (Number.isFinite(validLoss) && (!best || validLoss < best.loss)) {
      best = { lambda: l, w, loss: validLoss };
      worse = 0;
    } else if (++worse === PATIENCE) break;
  }
  if (!best) throw new Error('ridge regression gave no finite solution');
  return {
    outputs: 1,
    inputs,
    weights: [Array.from(best.w.subarray(0, width))],
    intercepts: [best.w[width]!],
    lambda: best.lambda,
  };
}

// ---- Classification: multinomial logistic regression, L-BFGS ----------------------------------------------------

/**
 * Mean log loss + (λ/2)‖W‖² and its gradient. Parameters: classes × (width + 1), each class's weights then its
 * intercept (unpenalised).
 */
function logisticObjective(
  d: Design,
  y: Float64Array,
  classes: number,
  width: number,
  lambda: number,
  theta: Float64Array,
  grad: Float64Array,
): number {
  const stride = width + 1;
  grad.fill(0);
  const z = new Float64Array(classes);
  let loss = 0;
  for (let r = 0; r < d.rows; r++) {
    const base = r * d.perRow;
    let max = -Infinity;
    for (let k = 0; k < classes; k++) {
      const o = k * stride;
      let s = theta[o + width]!;
      for (let e = base; e < base + d.perRow; e++) {
        const j = d.index[e]!;
        if (j >= 0) s += theta[o + j]! * d.value[e]!;
      }
      z[k] = s;
      if (s > max) max = s;
    }
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += z[k] = Math.exp(z[k]! - max);
    const label = y[r]!;
    loss -= Math.log(Math.max(z[label]! / sum, 1e-300));
    for (let k = 0; k < classes; k++) {
      const residual = z[k]! / sum - (k === label ? 1 : 0);
      const o = k * stride;
      grad[o + width]! += residual;
      for (let e = base; e < base + d.perRow; e++) {
        const j = d.index[e]!;
        if (j >= 0) grad[o + j]! += residual * d.value[e]!;
      }
    }
  }
  const n = Math.max(1, d.rows);
  let penalty = 0;
  for (let k = 0; k < classes; k++) {
    const o = k * stride;
    grad[o + width]! /= n;
    for (let j = 0; j < width; j++) {
      const w = theta[o + j]!;
      penalty += w * w;
      grad[o + j] = grad[o + j]! / n + lambda * w;
    }
  }
  return loss / n + 0.5 * lambda * penalty;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** Minimises `f` from `theta` (updated in place) with L-BFGS (memory 10) and a backtracking Armijo line search. */
function lbfgs(
  f: (theta: Float64Array, grad: Float64Array) => number,
  theta: Float64Array,
  maxIterations: number,
  opts: FitOptions,
): void {
  const m = 10;
  const size = theta.length;
  const grad = new Float64Array(size);
  let value = f(theta, grad);
  const sHistory: Float64Array[] = [];
  const yHistory: Float64Array[] = [];
  const rho: number[] = [];
  const direction = new Float64Array(size);
  const nextTheta = new Float64Array(size);
  const nextGrad = new Float64Array(size);
  const alpha = new Float64Array(m);
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    opts.signal?.throwIfAborted();
    if (pastDeadline(opts)) return;
    let gradMax = 0;
    for (const g of grad) gradMax = Math.max(gradMax, Math.abs(g));
    if (gradMax < 1e-7) return;
    // Two-loop recursion: direction = −H·grad.
    direction.set(grad);
    for (let i = sHistory.length - 1; i >= 0; i--) {
      alpha[i] = rho[i]! * dot(sHistory[i]!, direction);
      const yi = yHistory[i]!;
      for (let j = 0; j < size; j++) direction[j]! -= alpha[i]! * yi[j]!;
    }
    if (sHistory.length > 0) {
      const last = sHistory.length - 1;
      const gamma = dot(sHistory[last]!, yHistory[last]!) / dot(yHistory[last]!, yHistory[last]!);
      for (let j = 0; j < size; j++) direction[j]! *= gamma;
    }
    for (let i = 0; i < sHistory.length; i++) {
      const beta = rho[i]! * dot(yHistory[i]!, direction);
      const si = sHistory[i]!;
      for (let j = 0; j < size; j++) direction[j]! += si[j]! * (alpha[i]! - beta);
    }
    for (let j = 0; j < size; j++) direction[j] = -direction[j]!;
    let slope = dot(direction, grad);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      sHistory.length = yHistory.length = rho.length = 0;
      for (let j = 0; j < size; j++) direction[j] = -grad[j]!;
      slope = -dot(grad, grad);
    }
    let step = sHistory.length === 0 ? Math.min(1, 1 / Math.sqrt(-slope)) : 1;
    let nextValue = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let j = 0; j < size; j++) nextTheta[j] = theta[j]! + step * direction[j]!;
      nextValue = f(nextTheta, nextGrad);
      if (nextValue <= value + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(nextValue <= value + 1e-4 * step * slope)) return; // no progress possible at this precision
    const s = new Float64Array(size);
    const yv = new Float64Array(size);
    for (let j = 0; j < size; j++) {
      s[j] = nextTheta[j]! - theta[j]!;
      yv[j] = nextGrad[j]! - grad[j]!;
    }
    const sy = dot(s, yv);
    if (sy > 1e-12) {
      if (sHistory.length === m) {
        sHistory.shift();
        yHistory.shift();
        rho.shift();
      }
      sHistory.push(s);
      yHistory.push(yv);
      rho.push(1 / sy);
    }
    theta.set(nextTheta);
    grad.set(nextGrad);
    const previous = value;
    value = nextValue;
    if (previous - value <= 1e-12 * Math.max(1, Math.abs(value))) return;
  }
}

function fitLogistic(
  problem: TabularProblem,
  inputs: LinearInput[],
  width: number,
  opts: FitOptions,
  lambda: number | undefined,
  maxIterations: number,
): LinearArtifact {
  const classes = problem.classes;
  const train = design(problem.train.x, inputs);
  const valid = design(problem.validation.x, inputs);
  const stride = width + 1;
  const theta = new Float64Array(classes * stride);
  const unpack = (t: Float64Array) => {
    const weights = new Float64Array(classes * width);
    const intercepts = new Float64Array(classes);
    for (let k = 0; k < classes; k++) {
      weights.set(t.subarray(k * stride, k * stride + width), k * width);
      intercepts[k] = t[k * stride + width]!;
    }
    return { weights, intercepts };
  };
  const grid = lambda !== undefined ? [lambda] : CLASSIFICATION_GRID;
  let best: { lambda: number; theta: Float64Array; loss: number } | null = null;
  let worse = 0;
  // From the strongest penalty to the weakest, each fit warm-started from the previous solution.
  for (const [i, l] of grid.entries()) {
    opts.signal?.throwIfAborted();
    if (best && pastDeadline(opts)) break;
    lbfgs((t, g) => logisticObjective(train, problem.train.y, classes, width, l, t, g), theta, maxIterations, opts);
    const { weights, intercepts } = unpack(theta);
    const p = (d: Design) => {
      const z = scores(d, weights, intercepts, classes, width);
      softmaxInPlace(z, d.rows, classes);
      return z;
    };
    const trainLoss = meanLogLoss(p(train), problem.train.y, classes);
    const validLoss = valid.rows > 0 ? meanLogLoss(p(valid), problem.validation.y, classes) : trainLoss;
    opts.progress?.({
      phase: 'selecting',
      algorithm: 'linear',
      iteration: i + 1,
      of: grid.length,
      trainLoss,
      validLoss,
    });
    if (Number.isFinite(validLoss) && (!best || validLoss < best.loss)) {
      best = { lambda: l, theta: Float64Array.from(theta), loss: validLoss };
      worse = 0;
    } else if (++worse === PATIENCE) break;
  }
  if (!best) throw new Error('logistic regression gave no finite solution');
  const { weights, intercepts } = unpack(best.theta);
  return {
    outputs: classes,
    inputs,
    weights: Array.from({ length: classes }, (_, k) => Array.from(weights.subarray(k * width, (k + 1) * width))),
    intercepts: Array.from(intercepts),
    lambda: best.lambda,
  };
}

// ---- The algorithm -------------------------------------------------------------------------------------------------

/** Flattened weights per artifact, so predict does not rebuild them per request (artifacts are immutable). */
const flatWeights = new WeakMap<LinearArtifact, { weights: Float64Array; width: number }>();

function flat(artifact: LinearArtifact): { weights: Float64Array; width: number } {
  let f = flatWeights.get(artifact);
  if (!f) {
    const width = artifact.weights[0]?.length ?? 0;
    f = { weights: Float64Array.from(artifact.weights.flat()), width };
    flatWeights.set(artifact, f);
  }
  return f;
}

export const linearAlgorithm: TabularAlgorithm<LinearArtifact> = {
  name: 'linear',
  tasks: ['regression', 'classification'],
  fit(problem, opts) {
    // The executor turns a throw (bad params, abort) into a rejection, as an async fit would.
    return new Promise((resolve) => {
      const params = readParams(opts.params, PARAM_SPECS);
      opts.signal?.throwIfAborted();
      const { inputs, width } = layout(problem, params.maxLevels ?? 100);
      resolve(
        problem.task === 'regression'
          ? fitRidge(problem, inputs, width, opts, params.lambda)
          : fitLogistic(problem, inputs, width, opts, params.lambda, params.maxIterations ?? 300),
      );
    });
  },
  predict(artifact, x: Matrix, task: TabularTask) {
    const { weights, width } = flat(artifact);
    const z = scores(design(x, artifact.inputs), weights, artifact.intercepts, artifact.outputs, width);
    if (task === 'classification') softmaxInPlace(z, x.rows, artifact.outputs);
    return z;
  },
};
