/**
 * The 'gbdt' tabular algorithm: histogram gradient-boosted trees (the LightGBM/XGBoost `hist` algorithm) for
 * regression (squared error), binary classification (log loss) and multiclass (softmax, one tree per class per
 * round). It runs in the caller's thread (the `model.train` job's worker thread) and, for large training sets,
 * builds histograms of large nodes (and partitions them) with one helper thread (helper-thread.ts); the artifact
 * does not depend on it.
 *
 * Categorical features: one bin per category code and a sorted-by-gradient partition (LightGBM's many-vs-many
 * split; see histogram.ts); the artifact stores the set of codes that go left.
 */
import { Random } from '../random.js';
import type { FitOptions, Matrix, TabularAlgorithm, TabularProblem, TabularTask } from '../types.js';
import type { GbdtArtifact, GbdtLossPoint } from './artifact.js';
import { availableParallelism } from 'node:os';
import { binFeature, fitFeatureBins, type FeatureBins } from './binning.js';
import { baseScores, lossAndGradients, meanLoss, objectiveFor, outputCount, type ObjectiveName } from './objective.js';
import { packingBits } from './histogram.js';
import { resolveGbdtParams, type GbdtParams } from './params.js';
import { predictGbdt } from './predict.js';
import { addTreeBinned, TreeGrower, type GbdtTree } from './tree.js';

/** How long the fit may hold the thread before yielding, so an abort (a timer, a message) can be seen. */
const YIELD_EVERY_MS = 50;

export const gbdt: TabularAlgorithm<GbdtArtifact> = {
  name: 'gbdt',
  tasks: ['regression', 'classification'],
  fit: (problem, opts) => fitGbdt(problem, opts),
  predict: (artifact: GbdtArtifact, x: Matrix, _task: TabularTask, _classes: number) => predictGbdt(artifact, x),
  importance: gainImportance,
};

/** Rows from which a fit builds histograms on two threads (below, starting the helper costs more than it saves). */
const HELPER_THREAD_MIN_ROWS = 100_000;

export interface GbdtTuning {
  /** Use a helper thread for histograms; default: with 2+ cores and at least HELPER_THREAD_MIN_ROWS rows. */
  helperThread?: boolean;
}

/** The fit; `tuning` changes speed only, never the result (the artifact is bit-identical either way). */
export async function fitGbdt(
  problem: TabularProblem,
  opts: FitOptions,
  tuning: GbdtTuning = {},
): Promise<GbdtArtifact> {
  opts.signal?.throwIfAborted();
  const params = resolveGbdtParams(opts.params);
  checkProblem(problem);
  const objective = objectiveFor(problem.task, problem.classes);
  const n = problem.train.x.rows;

  const specs = problem.train.x.columns.map((column, f) =>
    fitFeatureBins(column, problem.categorical[f] === true, params.maxBins),
  );
  const unitHessian = objective === 'squared-error';
  const bits = packingBits(n, unitHessian);
  const helperThread =
    bits.gradientBits > 0 && (tuning.helperThread ?? (n >= HELPER_THREAD_MIN_ROWS && availableParallelism() >= 2));
  const trainBins = problem.train.x.columns.map((column, f) => binFeature(column, specs[f]!, helperThread));
  const validBins = problem.validation.x.columns.map((column, f) => binFeature(column, specs[f]!));
  const grower = new TreeGrower(
    trainBins,
    specs.map((s) => ({ bins: s.bins, categorical: s.categorical })),
    specs.map((s) => s.edges),
    {
      rowCount: n,
      outputs: outputCount(objective, problem.classes),
      maxDepth: params.maxDepth,
      helperThread,
    },
  );
  try {
    return await boost(problem, opts, params, grower, { specs, trainBins, validBins, objective, bits });
  } finally {
    await grower.close();
  }
}

interface Prepared {
  specs: FeatureBins[];
  trainBins: Uint8Array[];
  validBins: Uint8Array[];
  objective: ObjectiveName;
  bits: { gradientBits: number; hessianBits: number };
}

async function boost(
  problem: TabularProblem,
  opts: FitOptions,
  params: GbdtParams,
  grower: TreeGrower,
  { specs, trainBins, validBins, objective, bits }: Prepared,
): Promise<GbdtArtifact> {
  const classes = problem.task === 'classification' ? problem.classes : 0;
  const outputs = outputCount(objective, classes);
  const featureCount = problem.featureNames.length;
  const n = problem.train.x.rows;
  const nValid = problem.validation.x.rows;

  const yTrain = problem.train.y;
  const yValid = problem.validation.y;
  const base = baseScores(objective, yTrain, classes);
  // The grower's arrays, which its helper thread can read (see TreeGrower.logLossAndGradients).
  const score = grower.score;
  grower.labels.set(yTrain);
  const validScore = new Float64Array(nValid * outputs);
  for (let k = 0; k < outputs; k++) {
    score.fill(base[k]!, k * n, (k + 1) * n);
    validScore.fill(base[k]!, k * nValid, (k + 1) * nValid);
  }
  const { grad, hess } = grower;
  const rng = new Random(opts.seed);
  const rules = {
    maxDepth: params.maxDepth,
    minChildWeight: params.minChildWeight,
    lambda: params.lambda,
    learningRate: params.learningRate,
  };
  const unitHessian = objective === 'squared-error';
  const earlyStopping = nValid > 0 && params.earlyStoppingRounds > 0;

  const trees: GbdtTree[] = [];
  const losses: GbdtLossPoint[] = [];
  let bestLoss = Infinity;
  let bestRound = 0;
  let stoppedBy: GbdtArtifact['stoppedBy'] = 'rounds';
  let lastYield = Date.now();
  // Each round's gradients come out of the previous round's loss pass; these are the first round's.
  const lossAndNextGradients = (): number =>
    objective === 'log-loss'
      ? grower.logLossAndGradients() / n
      : lossAndGradients(objective, yTrain, score, classes, grad, hess);
  lossAndNextGradients();
  for (let round = 1; round <= params.rounds; round++) {
    opts.signal?.throwIfAborted();
    const sample = params.subsample < 1 ? drawRows(rng, n, params.subsample) : null;
    const features = drawFeatures(rng, featureCount, params.colsampleByTree);
    // All outputs' gradients come from the scores before this round (multiclass trees are fitted side by side).
    for (let k = 0; k < outputs; k++) {
      const slice = [k * n, (k + 1) * n] as const;
      const g = grad.subarray(...slice);
      const h = hess.subarray(...slice);
      const packing =
        bits.gradientBits > 0 ? grower.packGradients(g, h, unitHessian, bits, rng.int(0x100000000)) : null;
      const { tree, leafValues } = grower.grow(g, h, sample, features, rules, packing);
      if (sample === null) {
        // Every row's leaf is known: add the leaf values in row order (sequential, no tree walk).
        const leafOf = grower.leafOf;
        const offset = k * n;
        for (let i = 0; i < n; i++) score[offset + i] = score[offset + i]! + leafValues[leafOf[i]!]!;
      } else {
        addTreeBinned(tree, trainBins, n, score, k * n);
      }
      if (nValid > 0) addTreeBinned(tree, validBins, nValid, validScore, k * nValid);
      trees.push(tree);
    }
    // The loss after this round and the next round's gradients (wasted after the last round: one cheap pass).
    const trainLoss = lossAndNextGradients();
    const validLoss = nValid > 0 ? meanLoss(objective, yValid, validScore, classes) : null;
    losses.push({ iteration: round, train: trainLoss, validation: validLoss });
    opts.progress?.({
      phase: 'fitting',
      algorithm: 'gbdt',
      iteration: round,
      of: params.rounds,
      trainLoss,
      ...(validLoss === null ? {} : { validLoss }),
    });
    if (validLoss !== null && validLoss < bestLoss) {
      bestLoss = validLoss;
      bestRound = round;
    }
    if (earlyStopping && round - bestRound >= params.earlyStoppingRounds) {
      stoppedBy = 'early-stopping';
      break;
    }
    if (opts.deadline !== undefined && Date.now() >= opts.deadline && round < params.rounds) {
      stoppedBy = 'deadline';
      break;
    }
    if (Date.now() - lastYield >= YIELD_EVERY_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
  }
  const roundsTrained = losses.length;
  const rounds = earlyStopping ? bestRound : roundsTrained;
  return {
    format: 'weir-gbdt/1',
    task: problem.task,
    objective,
    classes,
    outputs,
    featureNames: [...problem.featureNames],
    features: specs,
    baseScore: base,
    trees: trees.slice(0, rounds * outputs),
    rounds,
    roundsTrained,
    stoppedBy,
    params,
    losses,
  };
}

/** Total split gain per feature over the kept trees (the importance XGBoost calls total_gain). */
export function gainImportance(artifact: GbdtArtifact): number[] {
  const total = new Array<number>(artifact.featureNames.length).fill(0);
  for (const tree of artifact.trees) {
    for (let node = 0; node < tree.feature.length; node++) {
      const f = tree.feature[node]!;
      if (f >= 0) total[f]! += tree.gain[node]!;
    }
  }
  return total;
}

function checkProblem(problem: TabularProblem): void {
  const featureCount = problem.featureNames.length;
  if (featureCount === 0) throw new Error('gbdt needs at least one feature');
  if (problem.train.x.rows === 0) throw new Error('gbdt needs at least one training row');
  for (const part of [problem.train, problem.validation]) {
    if (part.x.columns.length !== featureCount) {
      throw new Error(`gbdt: expected ${featureCount} feature columns, got ${part.x.columns.length}`);
    }
    for (const column of part.x.columns) {
      if (column.length !== part.x.rows) throw new Error('gbdt: a feature column differs in length from rows');
    }
    if (part.y.length !== part.x.rows) throw new Error('gbdt: the target differs in length from rows');
    for (let i = 0; i < part.y.length; i++) {
      const y = part.y[i]!;
      const ok =
        problem.task === 'regression' ? Number.isFinite(y) : Number.isInteger(y) && y >= 0 && y < problem.classes;
      if (!ok) throw new Error(`gbdt: target value ${y} at row ${i} is not valid for ${problem.task}`);
    }
  }
  if (problem.task === 'classification' && problem.classes < 2) {
    throw new Error('gbdt classification needs at least two classes');
  }
}

/** Rows of one round's subsample, ascending (Bernoulli draw, so the expected size is fraction × n). */
function drawRows(rng: Random, n: number, fraction: number): Uint32Array {
  const rows = new Uint32Array(n);
  let m = 0;
  for (let i = 0; i < n; i++) if (rng.next() < fraction) rows[m++] = i;
  if (m === 0) rows[m++] = rng.int(n);
  return rows.subarray(0, m);
}

/** One tree's feature subset, ascending; at least one feature. */
function drawFeatures(rng: Random, count: number, fraction: number): Int32Array {
  const all = Int32Array.from({ length: count }, (_, f) => f);
  if (fraction >= 1) return all;
  const take = Math.max(1, Math.round(fraction * count));
  return rng.shuffle(all).subarray(0, take).sort();
}
