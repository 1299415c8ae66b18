import type { TabularAlgorithm } from '../types.js';

/** Regression baseline: the mean of the training targets, whatever the features. */
export const meanBaseline: TabularAlgorithm<{ mean: number }> = {
  name: 'mean',
  tasks: ['regression'],
  fit(problem) {
    const y = problem.train.y;
    let sum = 0;
    for (const v of y) sum += v;
    return Promise.resolve({ mean: y.length === 0 ? 0 : sum / y.length });
  },
  predict(artifact, x) {
    return new Float64Array(x.rows).fill(artifact.mean);
  },
};

/** Classification baseline: the class frequencies of the training part (so it predicts the majority class). */
export const majorityBaseline: TabularAlgorithm<{ probabilities: number[] }> = {
  name: 'majority',
  tasks: ['classification'],
  fit(problem) {
    const counts = new Array<number>(problem.classes).fill(0);
    for (const v of problem.train.y) counts[v]!++;
    const n = problem.train.y.length;
    return Promise.resolve({ probabilities: counts.map((c) => (n === 0 ? 1 / problem.classes : c / n)) });
  },
  predict(artifact, x, _task, classes) {
    const out = new Float64Array(x.rows * classes);
    for (let r = 0; r < x.rows; r++)
      for (let c = 0; c < classes; c++) out[r * classes + c] = artifact.probabilities[c]!;
    return out;
  },
};
