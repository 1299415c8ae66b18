import { describe, expect, it } from 'vitest';
import { fitScaler, inverseTransform, transform } from './scaling.js';

describe('scaling', () => {
  const values = Float64Array.from([1, 2, 3, 4, NaN, 100]);

  it('standard: population mean/std, NaN skipped in the fit and passed through', () => {
    const s = fitScaler('standard', values);
    expect(s.center).toBe(22);
    expect(s.scale).toBeCloseTo(Math.sqrt((21 ** 2 + 20 ** 2 + 19 ** 2 + 18 ** 2 + 78 ** 2) / 5), 12);
    const t = transform(s, values);
    expect(Number.isNaN(t[4]!)).toBe(true);
    expect(t[0]).toBeCloseTo((1 - 22) / s.scale, 12);
  });

  it('minmax maps to [0, 1]; robust uses median and IQR', () => {
    expect(Array.from(transform(fitScaler('minmax', values), [1, 100]))).toEqual([0, 1]);
    const r = fitScaler('robust', values);
    expect(r).toEqual({ kind: 'robust', center: 3, scale: 2 });
  });

  it('none is the identity, a constant column gets scale 1, inverse undoes transform', () => {
    expect(fitScaler('none', values)).toEqual({ kind: 'none', center: 0, scale: 1 });
    expect(fitScaler('standard', [5, 5, 5])).toEqual({ kind: 'standard', center: 5, scale: 1 });
    const s = fitScaler('robust', values);
    const back = inverseTransform(s, transform(s, values));
    expect(back[5]).toBeCloseTo(100, 12);
    expect(Number.isNaN(back[4]!)).toBe(true);
  });

  it('state is plain JSON and round-trips', () => {
    const s = fitScaler('standard', values);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });
});
