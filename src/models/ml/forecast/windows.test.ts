import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { originList, windowCount, windowMoments, windowOrigins } from './windows.js';

describe('windows', () => {
  it('follows the LTSF counts: 8,209 train windows at L = 336, H = 96; 2,785 test windows of ETTh', () => {
    expect(windowCount(0, 8640, 336, 96)).toBe(8209);
    expect(windowCount(11520, 14400, 336, 96)).toBe(2785);
    expect(windowOrigins(11520, 14400, 336, 96)).toEqual({ first: 11520, last: 14304 });
    expect(windowOrigins(0, 10, 8, 3)).toBeNull();
    expect(Array.from(originList(0, 10, 4, 3))).toEqual([4, 5, 6, 7]);
  });

  it('windowMoments equals the direct sums', () => {
    const rng = new Random(3);
    const s = Float64Array.from({ length: 200 }, () => rng.normal());
    const L = 7;
    const H = 5;
    const m = windowMoments(s, 20, 150, L, H);
    const w = L + H;
    expect(m.count).toBe(131);
    for (let j = 0; j < w; j++) {
      let sj = 0;
      for (let t = 20; t <= 150; t++) sj += s[t - L + j]!;
      expect(m.sum[j]).toBeCloseTo(sj, 10);
      for (let k = 0; k < w; k++) {
        let g = 0;
        for (let t = 20; t <= 150; t++) g += s[t - L + j]! * s[t - L + k]!;
        expect(m.gram[j * w + k]).toBeCloseTo(g, 9);
      }
    }
  });
});
