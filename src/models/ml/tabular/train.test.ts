import { describe, expect, it } from 'vitest';
import { TrainingInputError } from '../errors.js';
import { predictRows, PredictInputError } from './predict.js';
import { trainTabular, type TabularTrainingInput } from './train.js';

function regressionInput(rows = 100): TabularTrainingInput {
  const x = Float64Array.from({ length: rows }, (_, i) => i);
  const colour = Array.from({ length: rows }, (_, i) => (i % 3 === 0 ? 'red' : i % 3 === 1 ? 'blue' : null));
  return {
    task: 'regression',
    features: [
      { name: 'x', kind: 'numeric', values: x },
      { name: 'colour', kind: 'categorical', values: colour },
    ],
    target: { name: 'y', values: Float64Array.from(x, (v) => 2 * v) },
    algorithm: 'auto',
  };
}

describe('trainTabular', () => {
  it('trains the mean baseline, splits 70/10/20 and reports metrics on both scales', async () => {
    const { report, artifact } = await trainTabular({ ...regressionInput(), algorithm: 'mean' }, { seed: 1 });
    expect(report.algorithm).toBe('mean');
    expect(report.data).toEqual({ rows: 100, train: 70, validation: 10, test: 20, missing: { x: 0, colour: 33 } });
    // Train targets 0..138 step 2: mean 69; test targets 160..198 → MAE = mean(|y − 69|) = 179 − 69 = 110
    expect(report.metrics.mean!.original.mae).toBeCloseTo(110, 9);
    const std = Math.sqrt((4 * (70 * 70 - 1)) / 12);
    expect(report.metrics.mean!.normalized.mae).toBeCloseTo(110 / std, 9);
    expect(artifact.encoders[1]).toEqual({ kind: 'categorical', name: 'colour', categories: ['red', 'blue'] }); // red 24 times in train, blue 23
    expect(predictRows(artifact, [{ x: 5, colour: 'green' }])).toEqual([{ prediction: 69 }]);
  });

  it('leaves the fitted encoders, scaler and model unchanged when every test-part value changes', async () => {
    const a = await trainTabular(regressionInput(), { seed: 3 });
    const changed = regressionInput();
    const x = changed.features[0]!.values as Float64Array;
    const y = changed.target.values as Float64Array;
    for (let i = 80; i < 100; i++) {
      x[i] = -1000 * i;
      y[i] = 12345;
      (changed.features[1]!.values as (string | null)[])[i] = 'violet';
    }
    const b = await trainTabular(changed, { seed: 3 });
    expect(b.artifact).toEqual(a.artifact);
    expect(b.report.metrics.mean!.original.mae).not.toBe(a.report.metrics.mean!.original.mae);
  });

  it('classifies with the majority baseline and gives class probabilities', async () => {
    const labels = Array.from({ length: 50 }, (_, i) => (i % 5 === 0 ? 'no' : 'yes'));
    const { report, artifact } = await trainTabular(
      {
        task: 'classification',
        features: [{ name: 'on', kind: 'boolean', values: Float64Array.from(labels, (_, i) => i % 2) }],
        target: { name: 'label', values: labels },
        algorithm: 'majority',
      },
      { seed: 1 },
    );
    expect(report.algorithm).toBe('majority');
    expect(report.metrics.majority!.original.accuracy).toBe(0.8);
    expect(report.metrics.majority!.confusion).toEqual([
      [0, 2],
      [0, 8],
    ]);
    expect(predictRows(artifact, [{ on: true }])).toEqual([
      { prediction: 'yes', probabilities: { no: 7 / 35, yes: 28 / 35 } },
    ]);
  });

  it('refuses an all-null target, one class only and an unknown algorithm', async () => {
    const nullTarget = { ...regressionInput(), target: { name: 'y', values: new Float64Array(100).fill(NaN) } };
    await expect(trainTabular(nullTarget, { seed: 1 })).rejects.toThrow(TrainingInputError);
    const one = {
      ...regressionInput(),
      task: 'classification' as const,
      target: { name: 'y', values: new Array<string>(100).fill('a') },
    };
    await expect(trainTabular(one, { seed: 1 })).rejects.toMatchObject({ pointer: '/target' });
    await expect(trainTabular({ ...regressionInput(), algorithm: 'nope' }, { seed: 1 })).rejects.toMatchObject({
      pointer: '/algorithm',
    });
  });
});

describe('predictRows', () => {
  it('names every bad field with a pointer', async () => {
    const { artifact } = await trainTabular(regressionInput(), { seed: 1 });
    try {
      predictRows(artifact, [{ x: 1 }, { x: 'hot', colour: {} }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PredictInputError);
      expect((e as PredictInputError).errors).toEqual([
        { pointer: '/rows/1/x', message: 'expected a number' },
        { pointer: '/rows/1/colour', message: 'expected a string' },
      ]);
    }
  });
});
