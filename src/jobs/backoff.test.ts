import { describe, expect, it } from 'vitest';
import { parseDuration } from '../config/reader.js';
import { backoffDelay, MAX_BACKOFF_MS } from './backoff.js';
import { percentile, windowDays } from './stats.js';

describe('backoffDelay (exponential, full jitter)', () => {
  it('draws uniformly below base·2^(attempt−1)', () => {
    expect(backoffDelay(1, 1000, () => 0)).toBe(0);
    expect(backoffDelay(1, 1000, () => 0.5)).toBe(500);
    expect(backoffDelay(3, 1000, () => 0.999)).toBe(3996);
    expect(backoffDelay(4, 100, () => 0.25)).toBe(200);
  });
  it('is capped', () => {
    expect(backoffDelay(40, 1000, () => 0.999)).toBeLessThan(MAX_BACKOFF_MS);
    expect(backoffDelay(40, 1000, () => 0.999)).toBeGreaterThan(MAX_BACKOFF_MS * 0.99);
  });
});

describe('stats helpers', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([1, 2, 3, 4, 10], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4, 10], 95)).toBe(10);
    expect(
      percentile(
        Array.from({ length: 100 }, (_, i) => i + 1),
        95,
      ),
    ).toBe(95);
  });
  it('UTC days of a window, oldest first', () => {
    expect(windowDays(3, new Date('2026-03-01T23:59:59.999Z'))).toEqual(['2026-02-27', '2026-02-28', '2026-03-01']);
  });
});

describe('parseDuration', () => {
  it('needs a unit', () => {
    expect(parseDuration('72h')).toBe(72 * 3_600_000);
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('30')).toBeUndefined();
    expect(parseDuration('0s')).toBeUndefined();
    expect(parseDuration('1w')).toBeUndefined();
  });
});
