import { describe, expect, it } from 'vitest';
import { Random } from '../random.js';
import { detectPeriod, periodFromStep, resolvePeriod } from './period.js';

describe('period', () => {
  it('maps calendar steps to their cycle', () => {
    expect(periodFromStep(3_600_000)).toBe(24);
    expect(periodFromStep(900_000)).toBe(96);
    expect(periodFromStep(86_400_000)).toBe(7);
    expect(periodFromStep(7 * 86_400_000)).toBe(52);
    expect(periodFromStep(7_000)).toBeNull();
    expect(periodFromStep(null)).toBeNull();
  });

  it('detects a period of 12 in a noisy sine and none in white noise', () => {
    const rng = new Random(5);
    const seasonal = Float64Array.from(
      { length: 600 },
      (_, i) => Math.sin((2 * Math.PI * i) / 12) + 0.2 * rng.normal(),
    );
    expect(detectPeriod(seasonal)).toBe(12);
    const noise = Float64Array.from({ length: 600 }, () => rng.normal());
    expect(detectPeriod(noise)).toBeNull();
  });

  it('a given period wins, then the step, then detection', () => {
    const sine = Float64Array.from({ length: 300 }, (_, i) => Math.sin((2 * Math.PI * i) / 10));
    expect(resolvePeriod(5, 3_600_000, sine)).toBe(5);
    expect(resolvePeriod(undefined, 3_600_000, sine)).toBe(24);
    expect(resolvePeriod(null, null, sine)).toBe(10);
  });
});
