import { describe, expect, it } from 'vitest';
import { forecastOrigins, recentHistory } from './origins.js';

/** A fake model: the forecast continues the last difference of the history, so its output is easy to predict. */
function drift(calls: number[]) {
  return (history: Float64Array, steps: number) => {
    calls.push(history.length);
    const last = history[history.length - 1] ?? 0;
    const slope = last - (history[history.length - 2] ?? last);
    return Float64Array.from({ length: steps }, (_, h) => last + slope * (h + 1));
  };
}

const line = Float64Array.from({ length: 50 }, (_, i) => 3 * i);

describe('forecastOrigins', () => {
  it('refits at every origin when allowed, on the capped window before it', () => {
    const calls: number[] = [];
    const out = forecastOrigins(line, [20, 10, 30], 2, { window: 8, maxRefits: 10 }, drift(calls), 'throw');
    expect(Array.from(out)).toEqual([60, 63, 30, 33, 90, 93]);
    expect(calls).toEqual([8, 8, 8]);
  });

  it('serves origins between refits from the last refit, shifted by the one-step error', () => {
    // y = i² : the drift model's path from origin 10 misses, and the shift makes each forecast start at y[t-1].
    const square = Float64Array.from({ length: 40 }, (_, i) => i * i);
    const calls: number[] = [];
    const out = forecastOrigins(square, [10, 11, 12], 1, { window: 100, maxRefits: 1 }, drift(calls), 'throw');
    expect(calls).toEqual([10]);
    // From 10: last 81, slope 17 → path 98, 115, 132. Origin 11: 115 + (100 − 98) = 117. Origin 12: 132 + (121 − 115).
    expect(Array.from(out)).toEqual([98, 117, 138]);
  });

  it('never hands the model data at or after the origin', () => {
    const poisoned = Float64Array.from(line);
    poisoned.fill(1e9, 25);
    const calls: number[] = [];
    const out = forecastOrigins(poisoned, [25], 1, { window: 100, maxRefits: 5 }, drift(calls), 'throw');
    expect(Array.from(out)).toEqual([75]);
  });

  it('throws or repeats the last value when the model fails, as asked', () => {
    const failing = () => {
      throw new Error('no model found');
    };
    expect(() => forecastOrigins(line, [5], 2, { window: 10, maxRefits: 2 }, failing, 'throw')).toThrow(
      'no model found',
    );
    expect(Array.from(forecastOrigins(line, [5], 2, { window: 10, maxRefits: 2 }, failing, 'repeat-last'))).toEqual([
      12, 12,
    ]);
  });
});

describe('recentHistory', () => {
  it('carries missing values forward and drops leading ones', () => {
    expect(Array.from(recentHistory(Float64Array.from([NaN, 1, NaN, 3, 4]), 4, 10))).toEqual([1, 1, 3]);
    expect(Array.from(recentHistory(Float64Array.from([0, 1, 2, 3, 4]), 5, 2))).toEqual([3, 4]);
  });
});
