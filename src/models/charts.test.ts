import { describe, expect, it } from 'vitest';
import type { TrainingReport } from './ml/report.js';
import { horizonErrorChart, importanceChart, lossChart, MAX_IMPORTANCE_BARS, modelChartSpec } from './charts.js';

const report = (over: Partial<TrainingReport>): TrainingReport => ({
  task: 'forecast',
  algorithm: 'linear',
  params: {},
  leaderboard: [],
  metrics: {},
  losses: [],
  importance: [],
  data: { rows: 0, train: 0, validation: 0, test: 0, missing: {} },
  ...over,
});

describe('model chart data', () => {
  it('splits the loss curve into train and validation points and skips nulls', () => {
    const data = lossChart(
      report({
        losses: [
          { iteration: 1, train: 0.5, validation: 0.7 },
          { iteration: 2, train: 0.25, validation: null },
        ],
      }),
    );
    expect(data).toEqual({
      kind: 'loss',
      points: [
        { iteration: 1, part: 'train', loss: 0.5 },
        { iteration: 1, part: 'validation', loss: 0.7 },
        { iteration: 2, part: 'train', loss: 0.25 },
      ],
    });
  });

  it('keeps the largest importances, largest first', () => {
    const importance = Array.from({ length: 40 }, (_, i) => ({ feature: `f${i}`, value: i, kind: 'gain' as const }));
    const data = importanceChart(report({ importance }));
    expect(data).toMatchObject({ kind: 'importance', importance: 'gain' });
    if (data.kind !== 'importance') throw new Error('kind');
    expect(data.bars).toHaveLength(MAX_IMPORTANCE_BARS);
    expect(data.bars[0]).toEqual({ feature: 'f39', value: 39 });
    expect(data.bars.at(-1)).toEqual({ feature: 'f10', value: 10 });
  });

  it('gives the error per step of every algorithm that has it', () => {
    const data = horizonErrorChart(
      report({
        metrics: {
          linear: {
            original: {},
            normalized: {},
            perStep: [
              { mse: 1, mae: 1 },
              { mse: null, mae: null },
              { mse: 3, mae: 2 },
            ],
          },
          mean: { original: {}, normalized: {} },
        },
      }),
    );
    expect(data).toEqual({
      kind: 'horizon-error',
      points: [
        { step: 1, algorithm: 'linear', mse: 1 },
        { step: 3, algorithm: 'linear', mse: 3 },
      ],
    });
  });

  it('keeps user text out of encoding titles', () => {
    const spec = modelChartSpec(
      { kind: 'importance', importance: 'permutation', bars: [{ feature: 'a"\\b', value: 1 }] },
      { title: 't' },
    );
    const encoding = (spec as { encoding: Record<string, { title: string }> }).encoding;
    expect([encoding.x!.title, encoding.y!.title]).toEqual(['Permutation importance', 'Feature']);
    expect(spec).toMatchObject({
      width: 640,
      height: 320,
      title: { text: 't' },
      data: { values: [{ feature: 'a"\\b', value: 1 }] },
    });
  });
});
