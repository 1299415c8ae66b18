import { describe, expect, it } from 'vitest';
import { metricsTable, progressLine, type ReportWire } from './models-format.js';

describe('models output', () => {
  it('prints the live training line: phase, algorithm, iteration, losses, ETA', () => {
    expect(
      progressLine(
        {
          phase: 'fitting',
          algorithm: 'gbdt',
          iteration: 12,
          of: 100,
          trainLoss: 0.1234567,
          validLoss: 0.25,
          etaMs: 2500,
        },
        'x',
      ),
    ).toBe('fitting gbdt 12/100 train 0.1235 valid 0.25 ETA 3 s');
    expect(progressLine({ phase: 'selecting', algorithm: 'linear', iteration: 3 }, null)).toBe('selecting linear #3');
    expect(progressLine(null, 'loading')).toBe('loading');
  });

  it('puts the model first, marked, beside every baseline, with the skill of a forecast', () => {
    const report: ReportWire = {
      task: 'forecast',
      algorithm: 'nlinear',
      params: {},
      leaderboard: [],
      metrics: {
        'repeat-last': { original: { mse: 2, mae: 1 }, normalized: {}, skill: 0 },
        nlinear: { original: { mse: 1, mae: 0.5 }, normalized: {}, skill: 0.5 },
        mean: { original: { mse: 4, mae: null }, normalized: {}, skill: -1 },
      },
      data: { rows: 1, train: 1, validation: 0, test: 0 },
    };
    expect(metricsTable(report).split('\n')).toEqual([
      'ALGORITHM      MSE  MAE  SKILL',
      '* nlinear        1  0.5    0.5',
      '  mean           4    -     -1',
      '  repeat-last    2    1      0',
    ]);
  });
});
