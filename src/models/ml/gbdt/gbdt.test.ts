import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { Matrix, TabularProblem } from '../types.js';
import { fitGbdt, gbdt } from './gbdt.js';
import { GbdtParamError } from './params.js';

const empty = (features: number): Matrix => ({
  rows: 0,
  columns: Array.from({ length: features }, () => new Float64Array(0)),
});

function problem(
  task: 'regression' | 'classification',
  classes: number,
  columns: Float64Array[],
  y: Float64Array,
  validation?: { columns: Float64Array[]; y: Float64Array },
  categorical?: boolean[],
): TabularProblem {
  return {
    task,
    classes,
    featureNames: columns.map((_, f) => `x${f}`),
    categorical: categorical ?? columns.map(() => false),
    train: { x: { rows: y.length, columns }, y },
    validation: validation
      ? { x: { rows: validation.y.length, columns: validation.columns }, y: validation.y }
      : { x: empty(columns.length), y: new Float64Array(0) },
  };
}

function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

function argmaxAccuracy(probabilities: Float64Array, y: Float64Array, classes: number): number {
  let right = 0;
  for (let i = 0; i < y.length; i++) {
    let best = 0;
    for (let k = 1; k < classes; k++)
      if (probabilities[i * classes + k]! > probabilities[i * classes + best]!) best = k;
    if (best === y[i]) right++;
  }
  return right / y.length;
}

/** y = 0 below 0.3, 10 up to 0.7, −4 above: two steps in one feature, plus a feature of pure noise. */
function stepData(n: number, seed: number) {
  const rng = new Random(seed);
  const x = Float64Array.from({ length: n }, () => rng.next());
  const noise = Float64Array.from({ length: n }, () => rng.next());
  const y = x.map((v) => (v < 0.3 ? 0 : v < 0.7 ? 10 : -4));
  return { columns: [x, noise], y };
}

describe('gbdt', () => {
  it('fits a step function exactly and puts all importance on the feature that matters', async () => {
    const { columns, y } = stepData(500, 1);
    const artifact = await gbdt.fit(problem('regression', 0, columns, y), {
      seed: 7,
      params: { rounds: 200, learningRate: 0.5, maxDepth: 3, lambda: 0 },
    });
    const fitted = gbdt.predict(artifact, { rows: y.length, columns }, 'regression', 0);
    expect(mse(fitted, y)).toBeLessThan(1e-9);
    // Between training points, the thresholds sit at midpoints: 0.2 and 0.9 are far from them.
    const probe = gbdt.predict(
      artifact,
      { rows: 3, columns: [Float64Array.of(0.2, 0.5, 0.9), Float64Array.of(0.5, 0.5, 0.5)] },
      'regression',
      0,
    );
    expect(Array.from(probe, (v) => Math.round(v * 1e6) / 1e6)).toEqual([0, 10, -4]);
    const importance = gbdt.importance!(artifact);
    // Noise earns a little gain on a finite sample (depth left over after the two real splits), never much.
    expect(importance[1]).toBeLessThan(importance[0]! * 0.01);
  });

  it('reaches accuracy 1 on a linearly separable binary problem', async () => {
    const rng = new Random(3);
    const a: number[] = [];
    const b: number[] = [];
    const labels: number[] = [];
    while (labels.length < 600) {
      const u = rng.next();
      const v = rng.next();
      const margin = u + 2 * v - 1.5;
      if (Math.abs(margin) < 0.05) continue;
      a.push(u);
      b.push(v);
      labels.push(margin > 0 ? 1 : 0);
    }
    const columns = [Float64Array.from(a), Float64Array.from(b)];
    const y = Float64Array.from(labels);
    const artifact = await gbdt.fit(problem('classification', 2, columns, y), {
      seed: 1,
      params: { rounds: 300, learningRate: 0.3, maxDepth: 4 },
    });
    expect(artifact.objective).toBe('log-loss');
    const p = gbdt.predict(artifact, { rows: y.length, columns }, 'classification', 2);
    expect(p.length).toBe(y.length * 2);
    expect(p[0]! + p[1]!).toBeCloseTo(1, 12);
    expect(argmaxAccuracy(p, y, 2)).toBe(1);
  });

  it('separates three blobs with one tree per class per round', async () => {
    const rng = new Random(5);
    const centres = [
      [0, 0],
      [5, 5],
      [0, 5],
    ];
    const a: number[] = [];
    const b: number[] = [];
    const labels: number[] = [];
    for (let i = 0; i < 300; i++) {
      const k = i % 3;
      a.push(centres[k]![0]! + rng.normal() * 0.5);
      b.push(centres[k]![1]! + rng.normal() * 0.5);
      labels.push(k);
    }
    const columns = [Float64Array.from(a), Float64Array.from(b)];
    const y = Float64Array.from(labels);
    const artifact = await gbdt.fit(problem('classification', 3, columns, y), {
      seed: 2,
      params: { rounds: 30, maxDepth: 3 },
    });
    expect(artifact.objective).toBe('softmax');
    expect(artifact.trees.length).toBe(30 * 3);
    const p = gbdt.predict(artifact, { rows: y.length, columns }, 'classification', 3);
    expect(p[0]! + p[1]! + p[2]!).toBeCloseTo(1, 12);
    expect(argmaxAccuracy(p, y, 3)).toBe(1);
    const centre = gbdt.predict(
      artifact,
      { rows: 1, columns: [Float64Array.of(5), Float64Array.of(5)] },
      'classification',
      3,
    );
    expect(centre[1]).toBeGreaterThan(0.9);
  });

  it('gives identical artifacts for the same seed and different ones for another seed when sampling', async () => {
    const { columns, y } = stepData(400, 9);
    const params = { rounds: 20, subsample: 0.7, colsampleByTree: 0.5 };
    const fit = (seed: number) => gbdt.fit(problem('regression', 0, columns, y), { seed, params });
    const first = JSON.stringify(await fit(11));
    expect(JSON.stringify(await fit(11))).toBe(first);
    expect(JSON.stringify(await fit(12))).not.toBe(first);
  });

  it('routes missing values by a learned default direction', async () => {
    const rng = new Random(4);
    // Fewer distinct values than bins, so a bin edge falls exactly between the groups.
    const n = 200;
    const x = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      // Missing rows behave like the high group; the split must send them right.
      const missing = i % 4 === 0;
      x[i] = missing ? Number.NaN : rng.next();
      y[i] = missing || x[i]! >= 0.5 ? 8 : 1;
    }
    const artifact = await gbdt.fit(problem('regression', 0, [x], y), {
      seed: 1,
      params: { rounds: 100, learningRate: 0.5, maxDepth: 2, lambda: 0 },
    });
    const p = gbdt.predict(artifact, { rows: 3, columns: [Float64Array.of(Number.NaN, 0.1, 0.9)] }, 'regression', 0);
    expect(Array.from(p, (v) => Math.round(v * 1e6) / 1e6)).toEqual([8, 1, 8]);
    expect(artifact.trees[0]!.defaultLeft[0]).toBe(false);
    // The artifact is plain JSON: a round trip predicts the same.
    const reread = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    expect(gbdt.predict(reread, { rows: 1, columns: [Float64Array.of(Number.NaN)] }, 'regression', 0)[0]).toBe(p[0]);
  });

  it('splits a categorical feature by a set of categories', async () => {
    const n = 600;
    const code = Float64Array.from({ length: n }, (_, i) => i % 6);
    const y = code.map((c) => (c === 0 || c === 2 || c === 5 ? 3 : -3));
    const artifact = await gbdt.fit(problem('regression', 0, [code], y, undefined, [true]), {
      seed: 1,
      params: { rounds: 50, learningRate: 0.5, maxDepth: 1, lambda: 0 },
    });
    expect(artifact.trees[0]!.categories[0]).toEqual([0, 2, 5]);
    const p = gbdt.predict(artifact, { rows: 6, columns: [Float64Array.of(0, 1, 2, 3, 4, 5)] }, 'regression', 0);
    expect(Array.from(p, (v) => Math.round(v * 1e6) / 1e6)).toEqual([3, -3, 3, -3, -3, 3]);
  });

  it('stops early on the validation part and keeps the best round', async () => {
    const { columns, y } = stepData(300, 2);
    // The validation targets contradict the training ones: every round after the first makes validation worse.
    const validation = { columns, y: y.map((v) => -v) };
    const artifact = await gbdt.fit(problem('regression', 0, columns, y, validation), {
      seed: 1,
      params: { rounds: 100, earlyStoppingRounds: 5 },
    });
    expect(artifact.stoppedBy).toBe('early-stopping');
    expect(artifact.roundsTrained).toBe(6);
    expect(artifact.rounds).toBe(1);
    expect(artifact.trees.length).toBe(1);
    const validationLosses = artifact.losses.map((l) => l.validation!);
    expect(Math.min(...validationLosses)).toBe(validationLosses[0]);
  });

  it('stops at the deadline, keeping the rounds trained so far', async () => {
    const { columns, y } = stepData(300, 2);
    const artifact = await gbdt.fit(problem('regression', 0, columns, y), {
      seed: 1,
      deadline: Date.now() - 1,
      params: { rounds: 100 },
    });
    expect(artifact.stoppedBy).toBe('deadline');
    expect(artifact.roundsTrained).toBe(1);
    expect(artifact.trees.length).toBe(1);
  });

  it('reports progress per round and rejects with the reason once the signal is aborted', async () => {
    const { columns, y } = stepData(300, 2);
    const before = new AbortController();
    before.abort(new Error('cancelled before'));
    await expect(gbdt.fit(problem('regression', 0, columns, y), { seed: 1, signal: before.signal })).rejects.toThrow(
      'cancelled before',
    );

    const during = new AbortController();
    const iterations: number[] = [];
    const fit = gbdt.fit(problem('regression', 0, columns, y), {
      seed: 1,
      signal: during.signal,
      params: { rounds: 50 },
      progress: (p) => {
        iterations.push(p.iteration!);
        expect(p.trainLoss).toBeGreaterThanOrEqual(0);
        if (p.iteration === 3) during.abort(new Error('cancelled during'));
      },
    });
    await expect(fit).rejects.toThrow('cancelled during');
    expect(iterations).toEqual([1, 2, 3]);
  });

  it('refuses unknown and out-of-range parameters with a pointer', async () => {
    const { columns, y } = stepData(50, 2);
    const fit = (params: Record<string, unknown>) =>
      gbdt.fit(problem('regression', 0, columns, y), { seed: 1, params });
    await expect(fit({ learning_rate: 0.1 })).rejects.toThrow(/unknown gbdt parameter 'learning_rate'/);
    await expect(fit({ learning_rate: 0.1 })).rejects.toBeInstanceOf(GbdtParamError);
    await expect(fit({ maxDepth: 2.5 })).rejects.toMatchObject({ pointer: '/params/maxDepth' });
    await expect(fit({ subsample: 0 })).rejects.toThrow("gbdt parameter 'subsample' must be in (0, 1]");
    await expect(fit({ maxBins: 300 })).rejects.toThrow("gbdt parameter 'maxBins' must be in [2, 255]");
    await expect(fit({ rounds: '10' })).rejects.toThrow("gbdt parameter 'rounds' must be a finite number");
  });

  it('refuses class labels outside 0..classes-1', async () => {
    const x = Float64Array.of(0, 1, 2);
    await expect(gbdt.fit(problem('classification', 2, [x], Float64Array.of(0, 1, 2)), { seed: 1 })).rejects.toThrow(
      'target value 2 at row 2 is not valid for classification',
    );
  });
});

describe('gbdt helper thread', () => {
  it('gives a bit-identical artifact with and without the histogram helper thread', async () => {
    const rng = new Random(8);
    const n = 40_000;
    const columns = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => rng.next()));
    const y = Float64Array.from({ length: n }, (_, i) => 10 * columns[0]![i]! * columns[1]![i]! + rng.normal());
    const p = problem('regression', 0, columns, y);
    const opts = { seed: 3, params: { rounds: 4, maxDepth: 4, subsample: 0.9 } };
    const single = await fitGbdt(p, opts, { helperThread: false });
    const threaded = await fitGbdt(p, opts, { helperThread: true });
    expect(JSON.stringify(threaded)).toBe(JSON.stringify(single));
  });

  it('stays bit-identical when the helper also assigns and sums leaves (no subsample, multiclass offsets)', async () => {
    const rng = new Random(9);
    const n = 40_000;
    const columns = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => rng.next()));
    const score = (i: number) => 3 * columns[0]![i]! + 2 * columns[1]![i]! + rng.normal();
    const y = Float64Array.from({ length: n }, (_, i) => Math.min(2, Math.max(0, Math.floor(score(i) - 1))));
    // Depth 1: the root's two children are leaves of 40k rows between them, so assignLeaves is split too.
    for (const maxDepth of [1, 3]) {
      const p = problem('classification', 3, columns, y);
      const opts = { seed: 4, params: { rounds: 3, maxDepth } };
      const single = await fitGbdt(p, opts, { helperThread: false });
      const threaded = await fitGbdt(p, opts, { helperThread: true });
      expect(JSON.stringify(threaded)).toBe(JSON.stringify(single));
    }
  });

  it('stays bit-identical for binary classification (the log-loss pass and the packing are split too)', async () => {
    const rng = new Random(10);
    const n = 40_000;
    const columns = [0, 1, 2].map(() => Float64Array.from({ length: n }, () => rng.next()));
    const y = Float64Array.from({ length: n }, (_, i) => (columns[0]![i]! + 0.3 * rng.normal() > 0.5 ? 1 : 0));
    const p = problem('classification', 2, columns, y);
    const opts = { seed: 5, params: { rounds: 4, maxDepth: 4 } };
    const single = await fitGbdt(p, opts, { helperThread: false });
    const threaded = await fitGbdt(p, opts, { helperThread: true });
    expect(JSON.stringify(threaded)).toBe(JSON.stringify(single));
  });
});
