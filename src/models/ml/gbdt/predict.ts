/**
 * Prediction from a GBDT artifact on raw Float64 values (NaN = missing). Works row by row without allocating per
 * tree, so one row costs a few microseconds for a hundred depth-6 trees.
 */
import type { Matrix } from '../types.js';
import type { GbdtArtifact } from './artifact.js';
import { categoryBin } from './binning.js';
import { scoresToPredictions } from './objective.js';
import type { GbdtTree } from './tree.js';

/** Raw scores (margins), class-major: score[k * rows + i]. */
export function predictScores(artifact: GbdtArtifact, x: Matrix): Float64Array {
  const { outputs, trees, baseScore } = artifact;
  const rows = x.rows;
  if (x.columns.length !== artifact.featureNames.length) {
    throw new Error(`gbdt: expected ${artifact.featureNames.length} feature columns, got ${x.columns.length}`);
  }
  const categoryCap = artifact.features.map((f) => (f.categorical ? f.bins - 1 : -1));
  const score = new Float64Array(rows * outputs);
  const row = new Float64Array(x.columns.length);
  for (let i = 0; i < rows; i++) {
    for (let f = 0; f < row.length; f++) row[f] = x.columns[f]![i]!;
    for (let k = 0; k < outputs; k++) {
      let s = baseScore[k]!;
      for (let t = k; t < trees.length; t += outputs) s += treeValue(trees[t]!, row, categoryCap);
      score[k * rows + i] = s;
    }
  }
  return score;
}

/** Regression: one value per row; classification: row-major class probabilities. */
export function predictGbdt(artifact: GbdtArtifact, x: Matrix): Float64Array {
  return scoresToPredictions(artifact.objective, predictScores(artifact, x), x.rows, artifact.classes);
}

function treeValue(tree: GbdtTree, row: Float64Array, categoryCap: readonly number[]): number {
  const { feature, threshold, categories, left, right, value, defaultLeft } = tree;
  let node = 0;
  let f = feature[0]!;
  while (f >= 0) {
    const v = row[f]!;
    let toLeft: boolean;
    if (v !== v) toLeft = defaultLeft[node]!;
    else {
      const set = categories[node];
      toLeft = set ? set.includes(categoryBin(v, categoryCap[f]!)) : v <= threshold[node]!;
    }
    node = toLeft ? left[node]! : right[node]!;
    f = feature[node]!;
  }
  return value[node]!;
}
