import { describe, expect, it } from 'vitest';
import {
  accuracy,
  argmaxRows,
  classificationMetrics,
  confusionMatrix,
  logLoss,
  macroF1,
  rocAuc,
} from './classification.js';

describe('classification metrics', () => {
  it('computes accuracy, confusion and macro F1 by hand', () => {
    const actual = [0, 0, 1, 1, 2, NaN];
    const predicted = [0, 1, 1, 1, 0, 2];
    expect(accuracy(actual, predicted)).toBe(3 / 5);
    const m = confusionMatrix(actual, predicted, 3);
    expect(m).toEqual([
      [1, 1, 0],
      [0, 2, 0],
      [1, 0, 0],
    ]);
    // F1: class 0 = 2·1/(2+2) = 0.5; class 1 = 2·2/(2+3) = 0.8; class 2 = 0 → mean 1.3/3
    expect(macroF1(m)).toBeCloseTo(1.3 / 3, 12);
  });

  it('computes log loss with clipped probabilities', () => {
    expect(logLoss([1, 0], [0.2, 0.8, 0.5, 0.5], 2)).toBeCloseTo((-Math.log(0.8) - Math.log(0.5)) / 2, 12);
    expect(logLoss([0], [0, 1], 2)).toBeCloseTo(-Math.log(1e-15), 6);
    expect(logLoss([NaN], [0.5, 0.5], 2)).toBeNull();
  });

  it('computes binary ROC AUC with ties counted half', () => {
    // positives score 0.9, 0.4; negatives 0.4, 0.1 → pairs: (0.9>0.4)1 (0.9>0.1)1 (0.4=0.4)0.5 (0.4>0.1)1 = 3.5/4
    const probs = [0.1, 0.9, 0.6, 0.4, 0.6, 0.4, 0.9, 0.1];
    expect(rocAuc([1, 1, 0, 0], probs, 2)).toBe(0.875);
    expect(rocAuc([1, 1], [0.5, 0.5, 0.2, 0.8], 2)).toBeNull();
  });

  it('averages one-vs-rest AUC for multiclass', () => {
    const probs = [0.8, 0.1, 0.1, 0.1, 0.8, 0.1, 0.1, 0.1, 0.8];
    expect(rocAuc([0, 1, 2], probs, 3)).toBe(1);
  });

  it('picks the first class on ties and bundles everything', () => {
    expect(Array.from(argmaxRows([0.5, 0.5, 0.2, 0.8], 2))).toEqual([0, 1]);
    const { metrics, confusion } = classificationMetrics([0, 1], [0.5, 0.5, 0.2, 0.8], 2);
    expect(metrics).toEqual({
      accuracy: 1,
      macroF1: 1,
      logLoss: (Math.log(2) - Math.log(0.8)) / 2,
      rocAuc: 1,
      count: 2,
    });
    expect(confusion).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });
});
