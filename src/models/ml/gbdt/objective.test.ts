import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { lossAndGradients, meanLoss, type ObjectiveName } from './objective.js';

const sigmoid = (s: number) => 1 / (1 + Math.exp(-s));

describe('lossAndGradients', () => {
  const rng = new Random(5);
  const n = 1001;
  const cases: [ObjectiveName, number][] = [
    ['squared-error', 0],
    ['log-loss', 2],
    ['softmax', 3],
  ];
  for (const [objective, classes] of cases) {
    it(`gives meanLoss's loss and the gradients of ${objective}`, () => {
      const outputs = objective === 'softmax' ? classes : 1;
      const y = Float64Array.from({ length: n }, () => (classes === 0 ? 10 * rng.normal() : rng.int(classes)));
      const score = Float64Array.from({ length: n * outputs }, () => 3 * rng.normal());
      const grad = new Float64Array(n * outputs);
      const hess = new Float64Array(n * outputs);
      const loss = lossAndGradients(objective, y, score, classes, grad, hess);
      expect(loss).toBeCloseTo(meanLoss(objective, y, score, classes), 12);
      for (let i = 0; i < n; i++) {
        if (objective === 'squared-error') {
          expect(grad[i]).toBe(score[i]! - y[i]!);
          expect(hess[i]).toBe(1);
        } else if (objective === 'log-loss') {
          const p = sigmoid(score[i]!);
          expect(grad[i]).toBeCloseTo(p - y[i]!, 14);
          expect(hess[i]).toBeCloseTo(p * (1 - p), 14);
        } else {
          const e = Array.from({ length: classes }, (_, k) => Math.exp(score[k * n + i]!));
          const sum = e.reduce((a, b) => a + b, 0);
          for (let k = 0; k < classes; k++) {
            const p = e[k]! / sum;
            expect(grad[k * n + i]).toBeCloseTo(p - (y[i] === k ? 1 : 0), 14);
            expect(hess[k * n + i]).toBeCloseTo(2 * p * (1 - p), 14);
          }
        }
      }
    });
  }

  it('stays finite when every row is confidently wrong (the blocked logs must not underflow)', () => {
    const rows = 64;
    const y = new Float64Array(rows).fill(1);
    const score = new Float64Array(rows).fill(-50);
    const loss = lossAndGradients('log-loss', y, score, 2, new Float64Array(rows), new Float64Array(rows));
    expect(loss).toBeCloseTo(-Math.log(1e-15), 6);
    const multi = new Float64Array(rows * 3);
    for (let i = 0; i < rows; i++) multi[i] = -800; // class 0 (the target) far below the others
    const multiLoss = lossAndGradients(
      'softmax',
      new Float64Array(rows),
      multi,
      3,
      new Float64Array(rows * 3),
      new Float64Array(rows * 3),
    );
    expect(multiLoss).toBeCloseTo(-Math.log(1e-15), 6);
  });
});
