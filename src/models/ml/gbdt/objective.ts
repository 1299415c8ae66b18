/**
 * The three objectives: squared error (regression), log loss (binary), softmax (multiclass). Raw scores (margins)
 * are stored class-major: score[k * n + i] for output k of row i; a regression or binary model has one output.
 */
import type { TabularTask } from '../types.js';

export type ObjectiveName = 'squared-error' | 'log-loss' | 'softmax';

/** Hessians are floored here so a confident leaf cannot divide by (almost) zero. */
const MIN_HESSIAN = 1e-16;
const EPS = 1e-15;

export function objectiveFor(task: TabularTask, classes: number): ObjectiveName {
  if (task === 'regression') return 'squared-error';
  return classes <= 2 ? 'log-loss' : 'softmax';
}

export function outputCount(objective: ObjectiveName, classes: number): number {
  return objective === 'softmax' ? classes : 1;
}

/** The constant starting score per output: the mean, the log-odds of the positive rate, or the log class priors. */
export function baseScores(objective: ObjectiveName, y: Float64Array, classes: number): number[] {
  const n = y.length;
  if (objective === 'squared-error') {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += y[i]!;
    return [n > 0 ? sum / n : 0];
  }
  if (objective === 'log-loss') {
    let positives = 0;
    for (let i = 0; i < n; i++) if (y[i] === 1) positives++;
    const p = clamp((positives + 0.5) / (n + 1));
    return [Math.log(p / (1 - p))];
  }
  const counts = new Float64Array(classes);
  for (let i = 0; i < n; i++) counts[y[i]!]! += 1;
  return Array.from(counts, (c) => Math.log((c + 0.5) / (n + 0.5 * classes)));
}

/**
 * Rows whose probabilities are multiplied before one log is taken: log was a third of the classification loss pass.
 * Probabilities are clamped to at least 1e-15, so a product of 16 stays above 1e-240, far from underflow.
 */
const LOG_BLOCK = 16;

/**
 * The mean loss of the current scores (as `meanLoss`, up to rounding: logs are taken of blocks of LOG_BLOCK
 * probabilities) and, in the same pass, every output's gradients and hessians for the next round (class-major like
 * the scores). One pass instead of two, and one exp per row and class instead of one for the loss and another for
 * the gradient (softmax: instead of a full softmax per row and class).
 */
export function lossAndGradients(
  objective: ObjectiveName,
  y: Float64Array,
  score: Float64Array,
  classes: number,
  grad: Float64Array,
  hess: Float64Array,
): number {
  const n = y.length;
  let total = 0;
  if (objective === 'squared-error') {
    for (let i = 0; i < n; i++) {
      const e = score[i]! - y[i]!;
      total += e * e;
      grad[i] = e;
      hess[i] = 1;
    }
  } else if (objective === 'log-loss') {
    total = logLossRange(y, score, grad, hess, 0, n);
  } else {
    const e = new Float64Array(classes);
    let product = 1;
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let c = 0; c < classes; c++) max = Math.max(max, score[c * n + i]!);
      let sum = 0;
      for (let c = 0; c < classes; c++) {
        e[c] = Math.exp(score[c * n + i]! - max);
        sum += e[c]!;
      }
      const target = y[i]!;
      product *= clamp(e[target]! / sum);
      if (i % LOG_BLOCK === LOG_BLOCK - 1) {
        total -= Math.log(product);
        product = 1;
      }
      for (let c = 0; c < classes; c++) {
        const p = e[c]! / sum;
        grad[c * n + i] = p - (target === c ? 1 : 0);
        // XGBoost's multi:softprob hessian: 2p(1−p), which damps steps while the other classes still move.
        hess[c * n + i] = Math.max(2 * p * (1 - p), MIN_HESSIAN);
      }
    }
    total -= Math.log(product);
  }
  return n > 0 ? total / n : Number.NaN;
}

/**
 * The log-loss part of `lossAndGradients` for rows start..end-1: writes their gradients and hessians and returns
 * their summed loss (logs of products of LOG_BLOCK probabilities, the blocks counted from `start`). Branch-free in
 * the label: labels are a coin flip for the branch predictor, and `1 − y − q + 2yq` is exactly q (y = 1) or 1 − q
 * (y = 0); about a fifth faster than the ternary. Self-contained on purpose (its constants written out): its
 * source is also the helper thread's kernel (see helper-thread.ts), so it may only use its arguments.
 */
export function logLossRange(
  y: Float64Array,
  score: Float64Array,
  grad: Float64Array,
  hess: Float64Array,
  start: number,
  end: number,
): number {
  const minHessian = 1e-16; // MIN_HESSIAN
  const eps = 1e-15; // EPS
  const block = 16; // LOG_BLOCK
  let total = 0;
  let product = 1;
  for (let i = start, k = 1; i < end; i++, k++) {
    const p = 1 / (1 + Math.exp(-score[i]!));
    const target = y[i]!;
    const q = Math.min(1 - eps, Math.max(eps, p));
    product *= 1 - target - q + 2 * target * q;
    if (k === block) {
      total -= Math.log(product);
      product = 1;
      k = 0;
    }
    grad[i] = p - target;
    const h = p * (1 - p);
    hess[i] = h > minHessian ? h : minHessian;
  }
  return total - Math.log(product);
}

/** Mean loss over the rows: MSE, binary log loss, or multiclass log loss. */
export function meanLoss(objective: ObjectiveName, y: Float64Array, score: Float64Array, classes: number): number {
  const n = y.length;
  if (n === 0) return Number.NaN;
  let total = 0;
  if (objective === 'squared-error') {
    for (let i = 0; i < n; i++) {
      const e = score[i]! - y[i]!;
      total += e * e;
    }
  } else if (objective === 'log-loss') {
    for (let i = 0; i < n; i++) {
      const p = clamp(1 / (1 + Math.exp(-score[i]!)));
      total -= y[i] === 1 ? Math.log(p) : Math.log(1 - p);
    }
  } else {
    for (let i = 0; i < n; i++) total -= Math.log(clamp(softmaxAt(score, n, classes, i, y[i]!)));
  }
  return total / n;
}

/** Turns raw scores (class-major) into predictions: values (regression) or row-major probabilities. */
export function scoresToPredictions(
  objective: ObjectiveName,
  score: Float64Array,
  rows: number,
  classes: number,
): Float64Array {
  if (objective === 'squared-error') return score;
  if (objective === 'log-loss') {
    const out = new Float64Array(rows * 2);
    for (let i = 0; i < rows; i++) {
      const p = 1 / (1 + Math.exp(-score[i]!));
      out[i * 2] = 1 - p;
      out[i * 2 + 1] = p;
    }
    return out;
  }
  const out = new Float64Array(rows * classes);
  for (let i = 0; i < rows; i++) {
    for (let k = 0; k < classes; k++) out[i * classes + k] = softmaxAt(score, rows, classes, i, k);
  }
  return out;
}

function softmaxAt(score: Float64Array, n: number, classes: number, i: number, k: number): number {
  let max = -Infinity;
  for (let c = 0; c < classes; c++) max = Math.max(max, score[c * n + i]!);
  let sum = 0;
  for (let c = 0; c < classes; c++) sum += Math.exp(score[c * n + i]! - max);
  return Math.exp(score[k * n + i]! - max) / sum;
}

function clamp(p: number): number {
  return Math.min(1 - EPS, Math.max(EPS, p));
}
