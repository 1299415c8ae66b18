import { describe, expect, it } from 'vitest';
import { mase, pointErrors, rSquared } from './errors.js';

describe('point errors', () => {
  it('computes MSE, MAE, RMSE, MAPE and sMAPE by hand', () => {
    const e = pointErrors([1, 2, 4], [2, 2, 2]);
    expect(e.count).toBe(3);
    expect(e.mse).toBeCloseTo(5 / 3, 12);
    expect(e.mae).toBeCloseTo(1, 12);
    expect(e.rmse).toBeCloseTo(Math.sqrt(5 / 3), 12);
    // |1−2|/1 + 0 + |4−2|/4 = 1.5 over 3 pairs.
    expect(e.mape).toBeCloseTo(50, 12);
    // 2·1/3 + 0 + 2·2/6 = 4/3 over 3 pairs.
    expect(e.smape).toBeCloseTo((100 * 4) / 9, 12);
  });

  it('skips missing pairs, skips zero actuals for MAPE, and says null when nothing is left', () => {
    const e = pointErrors([0, NaN, 2], [1, 5, 1]);
    expect(e.count).toBe(2);
    expect(e.mse).toBeCloseTo(1, 12);
    expect(e.mape).toBeCloseTo(50, 12);
    expect(pointErrors([NaN], [1])).toEqual({ mse: null, mae: null, rmse: null, mape: null, smape: null, count: 0 });
    expect(pointErrors([0, 0], [1, 1]).mape).toBeNull();
    expect(() => pointErrors([1], [1, 2])).toThrow(/length/);
  });

  it('R² is 1 for a perfect fit, 0 for the mean, null without variance', () => {
    expect(rSquared([1, 2, 3], [1, 2, 3])).toBe(1);
    expect(rSquared([1, 2, 3], [2, 2, 2])).toBe(0);
    expect(rSquared([2, 2, 2], [1, 2, 3])).toBeNull();
    expect(rSquared([1], [1])).toBeNull();
  });

  it('MASE scales MAE by the in-sample seasonal naive error of the training series', () => {
    // Lag-2 differences of the training series: |3−1|, |4−2|, |5−3| → scale 2; MAE 1 → MASE 0.5.
    expect(mase([10, 12], [11, 11], [1, 2, 3, 4, 5], 2)).toBeCloseTo(0.5, 12);
    expect(mase([1], [2], [3, 3, 3])).toBeNull();
  });
});
