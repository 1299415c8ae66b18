import { describe, expect, it } from 'vitest';
import { TrainingInputError } from '../errors.js';
import { Random } from '../random.js';
import type { TabularProblem } from '../types.js';
import { linearAlgorithm } from './linear.js';
import { predictRows } from './predict.js';
import { trainTabular } from './train.js';

function matrix(columns: number[][]) {
  return { rows: columns[0]!.length, columns: columns.map((c) => Float64Array.from(c)) };
}

/** y = 3a − 2b + 1 without noise, a and b pseudo-random, split 80/20 into train and validation. */
function planeProblem(): TabularProblem {
  const random = new Random(7);
  const a = Array.from({ length: 100 }, () => random.normal() * 4 + 2);
  const b = Array.from({ length: 100 }, () => random.next() * 10 - 5);
  const y = a.map((v, i) => 3 * v - 2 * b[i]! + 1);
  return {
    task: 'regression',
    classes: 0,
    featureNames: ['a', 'b'],
    categorical: [false, false],
    train: { x: matrix([a.slice(0, 80), b.slice(0, 80)]), y: Float64Array.from(y.slice(0, 80)) },
    validation: { x: matrix([a.slice(80), b.slice(80)]), y: Float64Array.from(y.slice(80)) },
  };
}

/** Two classes separated by the line a + b = 0 (a margin of 0.5 on either side), plus a third far away. */
function separableProblem(classes: 2 | 3): TabularProblem {
  const random = new Random(11);
  const rows = (n: number) => {
    const a: number[] = [];
    const b: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < n; i++) {
      const label = classes === 3 ? i % 3 : i % 2;
      const u = random.next() * 4 - 2;
      const side = label === 0 ? 1 : -1;
      const offset = side * (0.5 + random.next() * 2);
      a.push(label === 2 ? 10 + random.next() : u + offset / 2);
      b.push(label === 2 ? 10 + random.next() : -u + offset / 2);
      y.push(label);
    }
    return { x: matrix([a, b]), y: Float64Array.from(y) };
  };
  return {
    task: 'classification',
    classes,
    featureNames: ['a', 'b'],
    categorical: [false, false],
    train: rows(120),
    validation: rows(60),
  };
}

function accuracy(p: Float64Array, y: Float64Array, classes: number): number {
  let right = 0;
  for (let r = 0; r < y.length; r++) {
    let best = 0;
    for (let k = 1; k < classes; k++) if (p[r * classes + k]! > p[r * classes + best]!) best = k;
    if (best === y[r]) right++;
  }
  return right / y.length;
}

describe('linear (tabular)', () => {
  it('recovers y = 3a − 2b + 1 exactly without noise', async () => {
    const problem = planeProblem();
    const artifact = await linearAlgorithm.fit(problem, { seed: 1 });
    expect(artifact.lambda).toBe(0);
    expect(artifact.weights[0]![0]).toBeCloseTo(3, 9);
    expect(artifact.weights[0]![1]).toBeCloseTo(-2, 9);
    expect(artifact.intercepts[0]).toBeCloseTo(1, 9);
    const p = linearAlgorithm.predict(
      artifact,
      matrix([
        [0, 1, 10],
        [0, 1, -3],
      ]),
      'regression',
      0,
    );
    expect(Array.from(p).map((v) => Number(v.toFixed(9)))).toEqual([1, 2, 37]);
  });

  it('recovers the plane through the whole tabular pipeline (scaling, target standardization, predict)', async () => {
    const random = new Random(3);
    const a = Float64Array.from({ length: 60 }, () => random.normal() * 3);
    const b = Float64Array.from({ length: 60 }, () => random.next() * 100);
    const { report, artifact } = await trainTabular(
      {
        task: 'regression',
        features: [
          { name: 'a', kind: 'numeric', values: a },
          { name: 'b', kind: 'numeric', values: b },
        ],
        target: { name: 'y', values: a.map((v, i) => 3 * v - 2 * b[i]! + 1) },
        algorithm: 'auto',
      },
      { seed: 1 },
    );
    expect(report.algorithm).toBe('linear');
    expect(report.metrics.linear!.original.mse).toBeLessThan(1e-18);
    expect(report.metrics.linear!.original.r2).toBeCloseTo(1, 12);
    expect(report.leaderboard.map((l) => [l.algorithm, l.status])).toEqual([
      ['mean', 'ok'],
      ['linear', 'ok'],
      ['gbdt', 'ok'],
      ['mlp', 'ok'],
    ]);
    const [row] = predictRows(artifact, [{ a: 2, b: 5 }]);
    expect((row as { prediction: number }).prediction).toBeCloseTo(-3, 9);
  });

  it('one-hot encodes categorical codes: each level gets its own effect and an unseen code gets none', async () => {
    // y = 5 for code 0, −1 for code 1, 2 for code 2; code 3 never appears in training.
    const effect = [5, -1, 2];
    const codes = Array.from({ length: 60 }, (_, i) => i % 3);
    const problem: TabularProblem = {
      task: 'regression',
      classes: 0,
      featureNames: ['c'],
      categorical: [true],
      train: { x: matrix([codes.slice(0, 45)]), y: Float64Array.from(codes.slice(0, 45), (c) => effect[c]!) },
      validation: { x: matrix([codes.slice(45)]), y: Float64Array.from(codes.slice(45), (c) => effect[c]!) },
    };
    const artifact = await linearAlgorithm.fit(problem, { seed: 1 });
    expect(artifact.inputs).toEqual([{ kind: 'onehot', column: 0, levels: 3 }]);
    const p = linearAlgorithm.predict(artifact, matrix([[0, 1, 2, 3, NaN]]), 'regression', 0);
    const rounded = Array.from(p).map((v) => Number(v.toFixed(6)));
    expect(rounded.slice(0, 3)).toEqual([5, -1, 2]);
    // Unseen and missing both score the intercept alone. Noise-free data choose λ = 0, where intercept and levels
    // are collinear and the solver's tiny jitter picks the minimum-norm split: c = Σ effects / (levels + 1) = 1.5.
    expect(rounded[3]).toBe(rounded[4]);
    expect(rounded[3]).toBeCloseTo(1.5, 3);
  });

  it('separates two separable classes with accuracy 1 (train, validation) and probabilities that sum to 1', async () => {
    const problem = separableProblem(2);
    const artifact = await linearAlgorithm.fit(problem, { seed: 1 });
    const train = linearAlgorithm.predict(artifact, problem.train.x, 'classification', 2);
    const valid = linearAlgorithm.predict(artifact, problem.validation.x, 'classification', 2);
    expect(accuracy(train, problem.train.y, 2)).toBe(1);
    expect(accuracy(valid, problem.validation.y, 2)).toBe(1);
    for (let r = 0; r < problem.validation.y.length; r++) expect(valid[2 * r]! + valid[2 * r + 1]!).toBeCloseTo(1, 12);
  });

  it('separates three classes (multinomial) with accuracy 1', async () => {
    const problem = separableProblem(3);
    const artifact = await linearAlgorithm.fit(problem, { seed: 1 });
    expect(artifact.outputs).toBe(3);
    expect(
      accuracy(linearAlgorithm.predict(artifact, problem.validation.x, 'classification', 3), problem.validation.y, 3),
    ).toBe(1);
  });

  it('is deterministic: the same data give the same artifact, bit for bit, whatever the seed', async () => {
    const a = await linearAlgorithm.fit(separableProblem(3), { seed: 1 });
    const b = await linearAlgorithm.fit(separableProblem(3), { seed: 99 });
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const c = await linearAlgorithm.fit(planeProblem(), { seed: 5 });
    expect(JSON.stringify(await linearAlgorithm.fit(planeProblem(), { seed: 5 }))).toBe(JSON.stringify(c));
  });

  it('reports progress per penalty strength and honours a fixed lambda', async () => {
    const seen: { iteration?: number; of?: number; validLoss?: number }[] = [];
    await linearAlgorithm.fit(planeProblem(), { seed: 1, progress: (p) => seen.push(p) });
    expect(seen.map((p) => [p.iteration, p.of])).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((i) => [i, 8]));
    const fixed = await linearAlgorithm.fit(planeProblem(), { seed: 1, params: { lambda: 2 } });
    expect(fixed.lambda).toBe(2);
    // A strong penalty shrinks the slopes towards 0.
    expect(Math.abs(fixed.weights[0]![0]!)).toBeLessThan(3);
  });

  it('stops at the deadline with the best strength so far (the first, strongest one)', async () => {
    const seen: number[] = [];
    const artifact = await linearAlgorithm.fit(planeProblem(), {
      seed: 1,
      deadline: Date.now() - 1,
      progress: (p) => seen.push(p.iteration!),
    });
    expect(seen).toEqual([1]);
    expect(artifact.lambda).toBe(10);
    const classifier = await linearAlgorithm.fit(separableProblem(2), { seed: 1, deadline: Date.now() - 1 });
    expect(classifier.lambda).toBe(1);
    expect(classifier.weights.flat().every(Number.isFinite)).toBe(true);
  });

  it('refuses bad params with a pointer to the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ lambda: -1 }, '/params/lambda'],
      [{ lambda: 'big' }, '/params/lambda'],
      [{ maxLevels: 0 }, '/params/maxLevels'],
      [{ maxIterations: 1.5 }, '/params/maxIterations'],
      [{ alpha: 1 }, '/params/alpha'],
    ];
    for (const [params, pointer] of cases) {
      const error = await linearAlgorithm.fit(planeProblem(), { seed: 1, params }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TrainingInputError);
      expect((error as TrainingInputError).pointer).toBe(pointer);
    }
  });

  it('rejects with the abort reason when the signal is aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('cancelled'));
    await expect(linearAlgorithm.fit(separableProblem(2), { seed: 1, signal: controller.signal })).rejects.toThrow(
      'cancelled',
    );
  });
});
