import { describe, expect, it } from 'vitest';
import { lttb } from './downsample.js';

type P = [number, number];
const px = (p: P) => p[0];
const py = (p: P) => p[1];

describe('lttb', () => {
  it('returns the series unchanged when it has no more points than the threshold', () => {
    const s: P[] = [
      [0, 1],
      [1, 5],
      [2, 3],
    ];
    expect(lttb(s, 3, px, py)).toEqual(s);
    expect(lttb(s, 10, px, py)).toEqual(s);
    expect(lttb([], 5, px, py)).toEqual([]);
  });

  it('keeps the first and last point for thresholds 1 and 2', () => {
    const s: P[] = [
      [0, 1],
      [1, 5],
      [2, 3],
      [3, 0],
    ];
    expect(lttb(s, 2, px, py)).toEqual([
      [0, 1],
      [3, 0],
    ]);
    expect(lttb(s, 1, px, py)).toEqual([[0, 1]]);
    expect(lttb(s, 0, px, py)).toEqual([]);
  });

  it('picks the spike of each bucket', () => {
    // Flat series with one peak and one trough: 10 points → 4 keeps both extremes between the ends.
    const s: P[] = [
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 9],
      [4, 0],
      [5, 0],
      [6, -7],
      [7, 0],
      [8, 0],
      [9, 0],
    ];
    expect(lttb(s, 4, px, py)).toEqual([
      [0, 0],
      [3, 9],
      [6, -7],
      [9, 0],
    ]);
  });

  it('answers exactly `threshold` points in time order for a long noisy series', () => {
    const s: P[] = Array.from({ length: 10_000 }, (_, i) => [i, Math.sin(i / 50) * 100 + ((i * 7919) % 13)]);
    const out = lttb(s, 500, px, py);
    expect(out).toHaveLength(500);
    expect(out[0]).toEqual(s[0]);
    expect(out[499]).toEqual(s[9999]);
    for (let i = 1; i < out.length; i++) expect(out[i]![0]).toBeGreaterThan(out[i - 1]![0]);
  });
});
