import { describe, expect, it } from 'vitest';
import { isoAfter, ManualClock, systemClock } from './clock.js';

describe('clocks', () => {
  it('the system clock reads the time of day', () => {
    const before = Date.now();
    const now = systemClock.nowMs();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(Math.abs(systemClock.now().getTime() - now)).toBeLessThan(1000);
  });

  it('a manual clock moves only when told to', () => {
    const clock = new ManualClock(new Date('2026-01-01T00:00:00.000Z'));
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
    clock.advance(90_000);
    expect(clock.nowMs()).toBe(Date.parse('2026-01-01T00:01:30.000Z'));
    expect(isoAfter(clock, 30_000)).toBe('2026-01-01T00:02:00.000Z');
    clock.set(0);
    expect(clock.now().toISOString()).toBe('1970-01-01T00:00:00.000Z');
  });
});
