import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { binFeature, categoryBin, fitFeatureBins, MISSING_BIN, numericBin, sortFinite } from './binning.js';

describe('gbdt binning', () => {
  it('cuts few distinct values at midpoints and keeps missing values in their own bin', () => {
    const spec = fitFeatureBins(Float64Array.of(3, 1, 2, 2, Number.NaN, 1), false, 255);
    expect(spec).toEqual({ categorical: false, edges: [1.5, 2.5], bins: 3 });
    expect(Array.from(binFeature(Float64Array.of(1, 1.5, 1.6, 2.5, 9, Number.NaN, -Infinity), spec))).toEqual([
      0,
      0,
      1,
      1,
      2,
      MISSING_BIN,
      0,
    ]);
  });

  it('uses at most maxBins value bins on many distinct values', () => {
    const rng = new Random(2);
    const values = Float64Array.from({ length: 50_000 }, () => rng.next());
    const spec = fitFeatureBins(values, false, 16);
    expect(spec.bins).toBe(16);
    const counts = new Array<number>(16).fill(0);
    for (const b of binFeature(values, spec)) counts[b]! += 1;
    // Quantile cuts: every bin holds about 1/16 of the rows.
    for (const c of counts) expect(Math.abs(c - 50_000 / 16)).toBeLessThan(300);
  });

  it('bins exactly like a binary search over the edges (the fast path)', () => {
    const rng = new Random(1);
    for (const distinct of [1, 2, 5, 254, 255, 256, 10_000]) {
      const values = Float64Array.from({ length: 3000 }, () => Math.floor(rng.next() * distinct) / distinct);
      const spec = fitFeatureBins(values, false, 255);
      const probe = Float64Array.from({ length: 5000 }, (_, i) =>
        i % 7 === 0 ? (spec.edges[i % Math.max(1, spec.edges.length)] ?? 0) : rng.next() * 1.2 - 0.1,
      );
      const bins = binFeature(probe, spec);
      for (let i = 0; i < probe.length; i++) expect(bins[i]).toBe(numericBin(probe[i]!, spec.edges));
    }
  });

  it('bins exactly like a binary search on skewed, offset and narrow data (the grid and its fallbacks)', () => {
    const rng = new Random(3);
    const shapes: ((u: number) => number)[] = [
      (u) => 1e12 + u * 3e10, // timestamps: large magnitude, wide range
      (u) => 2020 + u * 1e-7, // a range too narrow for the grid
      (u) => Math.exp(8 * rng.normal()) * (u < 0.5 ? -1 : 1), // crowded edges: the grid gives up
      (u) => -5 + 10 * u * u, // uneven but gridable
    ];
    for (const shape of shapes) {
      const values = Float64Array.from({ length: 20_000 }, () => shape(rng.next()));
      const spec = fitFeatureBins(values, false, 255);
      const probe = Float64Array.from({ length: 20_000 }, (_, i) =>
        i % 5 === 0 ? spec.edges[i % spec.edges.length]! : i % 5 === 1 ? values[i]! : shape(rng.next() * 1.2 - 0.1),
      );
      const bins = binFeature(probe, spec);
      for (let i = 0; i < probe.length; i++) expect(bins[i]).toBe(numericBin(probe[i]!, spec.edges));
    }
  });

  it('gives categories their own bins and sends rare, unseen and malformed codes to the last one', () => {
    const spec = fitFeatureBins(Float64Array.of(0, 1, 2, 7, Number.NaN), true, 4);
    expect(spec).toEqual({ categorical: true, edges: [], bins: 4 });
    expect(Array.from(binFeature(Float64Array.of(0, 2, 3, 7, 99, -1, 1.5, Number.NaN), spec))).toEqual([
      0,
      2,
      3,
      3,
      3,
      3,
      3,
      MISSING_BIN,
    ]);
    expect(categoryBin(2, 3)).toBe(2);
  });

  it('sorts finite values exactly like the built-in sort (negative zero, subnormals, repeats, extremes)', () => {
    const rng = new Random(3);
    const specials = [0, -0, 1, -1, 5e-324, -5e-324, 1e-300, -1e-300, Number.MAX_VALUE, -Number.MAX_VALUE];
    const cases = [
      Float64Array.from({ length: 5000 }, () => 2 * rng.next() - 1),
      Float64Array.from({ length: 5000 }, () => specials[rng.int(specials.length)]!),
      Float64Array.from({ length: 5000 }, () => Math.round(10 * rng.next())),
      Float64Array.from({ length: 5000 }, () => 7),
      Float64Array.from({ length: 100 }, () => rng.normal()),
    ];
    for (const values of cases) {
      const expected = values.slice().sort();
      const sorted = values.slice();
      sortFinite(sorted);
      expect(Array.from(sorted, (v) => Object.is(v, -0))).toEqual(Array.from(expected, (v) => Object.is(v, -0)));
      expect(Array.from(sorted)).toEqual(Array.from(expected));
    }
  });
});
