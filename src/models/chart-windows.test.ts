import { describe, expect, it } from 'vitest';
import { regressionResidualsChart } from './chart-windows.js';
import { trainTabular } from './ml/tabular/train.js';
import type { TabularTrainingInput } from './ml/tabular/train.js';

describe('regression residuals', () => {
  it('predicts the test rows from the training input of every feature kind, skipping rows without a target', async () => {
    const n = 50;
    const y = Float64Array.from({ length: n }, (_, i) => (i === 3 ? NaN : 2 * i));
    const input: TabularTrainingInput = {
      task: 'regression',
      features: [
        { name: 'x', kind: 'numeric', values: Float64Array.from({ length: n }, (_, i) => (i === 45 ? NaN : i)) },
        { name: 'flag', kind: 'boolean', values: Float64Array.from({ length: n }, (_, i) => i % 2) },
        {
          name: 'colour',
          kind: 'categorical',
          values: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : `c${i % 3}`)),
        },
        { name: 'at', kind: 'time', values: Float64Array.from({ length: n }, (_, i) => Date.UTC(2024, 0, 1 + i)) },
      ],
      target: { name: 'y', values: y },
      algorithm: 'mean',
    };
    const { artifact } = await trainTabular(input, { seed: 1 });
    const chart = regressionResidualsChart(artifact, { kind: 'tabular', input, seed: 1 });
    // 49 rows have a target: train 34, validation 5, test the last 10 (rows 40..49). The mean baseline predicts the
    // train mean of 2·i over the first 34 kept rows (i = 0..34 without 3).
    const kept = Array.from({ length: 35 }, (_, i) => i).filter((i) => i !== 3);
    const mean = kept.reduce((a, i) => a + 2 * i, 0) / kept.length;
    expect(chart.kind).toBe('residuals');
    if (chart.kind !== 'residuals') return;
    expect(chart.against).toBe('prediction');
    expect(chart.points).toHaveLength(10);
    chart.points.forEach((p, k) => {
      expect(p.x).toBeCloseTo(mean, 9);
      expect(p.residual).toBeCloseTo(2 * (40 + k) - mean, 9);
    });
  });
});
