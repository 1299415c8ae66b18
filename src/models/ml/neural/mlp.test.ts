import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import type { SeriesProblem, TabularProblem } from '../types.js';
import { mlpForecast, mlpTabular } from './mlp.js';
import { InvalidParamError } from './params.js';
import { loadTf } from './tf.js';

function linearProblem(): TabularProblem {
  const random = new Random(7);
  const part = (rows: number) => {
    const x = Float64Array.from({ length: rows }, () => random.next() * 2 - 1);
    return { x: { rows, columns: [x] }, y: x.map((v) => 2 * v + 1) };
  };
  return {
    task: 'regression',
    classes: 0,
    featureNames: ['x'],
    categorical: [false],
    train: part(200),
    validation: part(50),
  };
}

function clustersProblem(): TabularProblem {
  const random = new Random(3);
  const part = (rows: number) => {
    const a = new Float64Array(rows);
    const b = new Float64Array(rows);
    const y = new Float64Array(rows);
    for (let r = 0; r < rows; r++) {
      const cls = r % 3;
      y[r] = cls;
      a[r] = cls * 4 + random.normal() * 0.3;
      b[r] = (cls === 1 ? 5 : 0) + random.normal() * 0.3;
    }
    return { x: { rows, columns: [a, b] }, y };
  };
  return {
    task: 'classification',
    classes: 3,
    featureNames: ['a', 'b'],
    categorical: [false, false],
    train: part(150),
    validation: part(60),
  };
}

const quick = { hidden: [16], epochs: 150, batchSize: 32, learningRate: 0.02, patience: 30 };

describe('mlp (tabular)', () => {
  it('learns y = 2x + 1 to a small error', async () => {
    const artifact = await mlpTabular.fit(linearProblem(), { seed: 1, params: quick });
    const x = Float64Array.from([-0.9, -0.3, 0, 0.4, 0.8]);
    const predicted = mlpTabular.predict(artifact, { rows: 5, columns: [x] }, 'regression', 0);
    x.forEach((v, i) => expect(Math.abs((predicted[i] ?? NaN) - (2 * v + 1))).toBeLessThan(0.05));
    expect(artifact.losses.length).toBeGreaterThan(0);
    expect(artifact.bestEpoch).toBeGreaterThan(0);
  });

  it('separates separable classes with accuracy 1 and rows of probabilities', async () => {
    const problem = clustersProblem();
    const artifact = await mlpTabular.fit(problem, {
      seed: 2,
      params: { hidden: [16], epochs: 100, learningRate: 0.02 },
    });
    const probabilities = mlpTabular.predict(artifact, problem.validation.x, 'classification', 3);
    expect(probabilities.length).toBe(problem.validation.x.rows * 3);
    let correct = 0;
    for (let r = 0; r < problem.validation.x.rows; r++) {
      const row = Array.from(probabilities.subarray(r * 3, r * 3 + 3));
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
      if (row.indexOf(Math.max(...row)) === problem.validation.y[r]) correct++;
    }
    expect(correct).toBe(problem.validation.x.rows);
  });

  it('gives the identical artifact for the same seed, and a different one for another seed', async () => {
    const params = { hidden: [8], epochs: 5, dropout: 0.2 };
    const a = await mlpTabular.fit(linearProblem(), { seed: 11, params });
    const b = await mlpTabular.fit(linearProblem(), { seed: 11, params });
    const c = await mlpTabular.fit(linearProblem(), { seed: 12, params });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    expect(JSON.stringify(a.network)).not.toBe(JSON.stringify(c.network));
  });

  it('round-trips its artifact through JSON with identical predictions', async () => {
    const problem = clustersProblem();
    const artifact = await mlpTabular.fit(problem, { seed: 4, params: { hidden: [8], epochs: 5 } });
    const restored = JSON.parse(JSON.stringify(artifact)) as typeof artifact;
    expect(mlpTabular.predict(restored, problem.validation.x, 'classification', 3)).toEqual(
      mlpTabular.predict(artifact, problem.validation.x, 'classification', 3),
    );
  });

  it('imputes missing values and one-hot encodes categorical codes, unseen codes included', async () => {
    const rows = 60;
    const code = Float64Array.from({ length: rows }, (_, r) => r % 3);
    const noise = Float64Array.from({ length: rows }, (_, r) => (r % 7 === 0 ? NaN : r / rows));
    const y = code.map((c) => c * 10);
    const problem: TabularProblem = {
      task: 'regression',
      classes: 0,
      featureNames: ['code', 'noise'],
      categorical: [true, false],
      train: { x: { rows, columns: [code, noise] }, y },
      validation: { x: { rows: 0, columns: [new Float64Array(), new Float64Array()] }, y: new Float64Array() },
    };
    const artifact = await mlpTabular.fit(problem, { seed: 5, params: { ...quick, epochs: 200 } });
    expect(artifact.inputs[0]).toEqual({ kind: 'onehot', levels: 3 });
    const predicted = mlpTabular.predict(
      artifact,
      { rows: 4, columns: [Float64Array.from([0, 2, 9, NaN]), Float64Array.from([NaN, 0.5, 0.5, 0.5])] },
      'regression',
      0,
    );
    expect(Math.abs((predicted[0] ?? NaN) - 0)).toBeLessThan(1);
    expect(Math.abs((predicted[1] ?? NaN) - 20)).toBeLessThan(1);
    expect(Number.isFinite(predicted[2])).toBe(true);
    expect(Number.isFinite(predicted[3])).toBe(true);
  });

  it('refuses unknown and out-of-range parameters with a pointer', async () => {
    await expect(mlpTabular.fit(linearProblem(), { seed: 1, params: { epoch: 3 } })).rejects.toMatchObject({
      pointer: '/params/epoch',
    });
    await expect(mlpTabular.fit(linearProblem(), { seed: 1, params: { dropout: 1.5 } })).rejects.toBeInstanceOf(
      InvalidParamError,
    );
    await expect(mlpTabular.fit(linearProblem(), { seed: 1, params: { hidden: [4, 0] } })).rejects.toMatchObject({
      pointer: '/params/hidden/1',
    });
  });

  it('rejects with the signal reason when aborted before or during training', async () => {
    const before = new AbortController();
    before.abort(new Error('cancelled early'));
    await expect(mlpTabular.fit(linearProblem(), { seed: 1, signal: before.signal })).rejects.toThrow(
      'cancelled early',
    );

    const during = new AbortController();
    const epochs: number[] = [];
    const fit = mlpTabular.fit(linearProblem(), {
      seed: 1,
      signal: during.signal,
      params: { epochs: 1000, patience: 1000 },
      progress: (p) => {
        epochs.push(p.iteration ?? -1);
        if (p.iteration === 3) during.abort(new Error('cancelled'));
      },
    });
    await expect(fit).rejects.toThrow('cancelled');
    expect(epochs).toEqual([1, 2, 3]);
  });

  it('sees an abort from a timer within an epoch, not only between epochs', async () => {
    const rows = 20_000;
    const x = Float64Array.from({ length: rows }, (_, r) => r / rows);
    const problem: TabularProblem = {
      ...linearProblem(),
      train: { x: { rows, columns: [x] }, y: x.map((v) => 2 * v + 1) },
    };
    await loadTf(); // loaded beforehand, so the timer fires while batches run, not while tfjs loads
    const controller = new AbortController();
    const epochs: number[] = [];
    setTimeout(() => controller.abort(new Error('cancelled by timer')), 100);
    const started = Date.now();
    await expect(
      mlpTabular.fit(problem, {
        seed: 1,
        signal: controller.signal,
        params: { batchSize: 1 },
        progress: (p) => epochs.push(p.iteration ?? -1),
      }),
    ).rejects.toThrow('cancelled by timer');
    expect(epochs).toEqual([]);
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('stops at the deadline and keeps a usable model', async () => {
    const past = await mlpTabular.fit(linearProblem(), { seed: 1, deadline: Date.now() - 1 });
    expect(past.losses).toEqual([]);
    const x = { rows: 1, columns: [Float64Array.from([0.5])] };
    expect(Number.isFinite(mlpTabular.predict(past, x, 'regression', 0)[0])).toBe(true);

    const started = Date.now();
    const timed = await mlpTabular.fit(linearProblem(), {
      seed: 1,
      deadline: started + 300,
      params: { epochs: 10_000, patience: 1000, batchSize: 8 },
    });
    expect(timed.losses.length).toBeGreaterThan(0);
    expect(timed.losses.length).toBeLessThan(10_000);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

function sineProblem(length: number): SeriesProblem {
  const series = [
    Float64Array.from({ length }, (_, i) => Math.sin((2 * Math.PI * i) / 16) + 0.3 * Math.sin((2 * Math.PI * i) / 5)),
  ];
  return {
    series,
    trainEnd: Math.floor(length * 0.7),
    validEnd: Math.floor(length * 0.85),
    horizon: 6,
    lookback: 32,
    period: 16,
    times: null,
    stepMs: null,
  };
}

describe('mlp (forecast)', () => {
  it('forecasts a sine wave better than repeat-last, from every test origin', async () => {
    const problem = sineProblem(600);
    const full = problem.series[0] as Float64Array;
    const fitted = { ...problem, series: [full.slice(0, problem.validEnd)] };
    const artifact = await mlpForecast.fit(fitted, {
      seed: 9,
      params: { hidden: [32], epochs: 60, learningRate: 0.005, batchSize: 32 },
    });
    const origins = Array.from(
      { length: full.length - problem.horizon - problem.validEnd + 1 },
      (_, k) => problem.validEnd + k,
    );
    const forecast = mlpForecast.forecast(artifact, full, origins, problem.horizon, null);
    let model = 0;
    let naive = 0;
    origins.forEach((origin, k) => {
      for (let h = 0; h < problem.horizon; h++) {
        const actual = full[origin + h] ?? NaN;
        model += (actual - (forecast[k * problem.horizon + h] ?? NaN)) ** 2;
        naive += (actual - (full[origin - 1] ?? NaN)) ** 2;
      }
    });
    expect(model).toBeLessThan(naive * 0.1);
    expect(mlpForecast.minHistory(problem)).toBe(32);
  });

  it('is deterministic by seed, round-trips through JSON and extends past its horizon recursively', async () => {
    const problem = sineProblem(200);
    const a = await mlpForecast.fit(problem, { seed: 3, params: { hidden: [8], epochs: 4 } });
    const b = await mlpForecast.fit(problem, { seed: 3, params: { hidden: [8], epochs: 4 } });
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
    const restored = JSON.parse(JSON.stringify(a)) as typeof a;
    const series = problem.series[0] as Float64Array;
    expect(mlpForecast.forecast(restored, series, [100, 150], 6, null)).toEqual(
      mlpForecast.forecast(a, series, [100, 150], 6, null),
    );
    const long = mlpForecast.forecast(a, series, [150], 15, null);
    expect(long.length).toBe(15);
    expect(Array.from(long.subarray(0, 6))).toEqual(Array.from(mlpForecast.forecast(a, series, [150], 6, null)));
    expect(long.every(Number.isFinite)).toBe(true);
  });

  it('never learns from values after validEnd', async () => {
    const problem = sineProblem(300);
    const clean = await mlpForecast.fit(problem, { seed: 6, params: { hidden: [8], epochs: 3 } });
    const poisoned = Float64Array.from(problem.series[0] as Float64Array);
    poisoned.fill(1e6, problem.validEnd);
    const leaked = await mlpForecast.fit(
      { ...problem, series: [poisoned] },
      { seed: 6, params: { hidden: [8], epochs: 3 } },
    );
    expect(JSON.stringify(leaked)).toBe(JSON.stringify(clean));
  });

  it('refuses a training part shorter than lookback + horizon', async () => {
    const problem = { ...sineProblem(200), lookback: 150 };
    await expect(mlpForecast.fit(problem, { seed: 1 })).rejects.toMatchObject({ pointer: '/horizon' });
  });
});
