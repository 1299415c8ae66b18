import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatPercent, formatRelative } from './format';

describe('format', () => {
  it('sizes in binary units, one decimal below 10', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(250 * 1024 ** 2)).toBe('250 MiB');
    expect(formatBytes(3 * 1024 ** 5)).toBe('3072 TiB');
    expect(formatBytes(null)).toBe('—');
  });

  it('durations from milliseconds to hours', () => {
    expect(formatDuration(420)).toBe('420 ms');
    expect(formatDuration(4_200)).toBe('4.2 s');
    expect(formatDuration(42_000)).toBe('42 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(3 * 3_600_000 + 60_000)).toBe('3 h 1 min');
    expect(formatDuration(Number.POSITIVE_INFINITY)).toBe('—');
  });

  it('relative times and percentages', () => {
    const now = Date.parse('2026-12-06T12:00:00Z');
    expect(formatRelative('2026-12-06T11:59:50Z', now)).toBe('just now');
    expect(formatRelative('2026-12-06T11:00:00Z', now)).toMatch(/hour/);
    expect(formatRelative('2026-12-04T12:00:00Z', now)).toMatch(/2 days ago/);
    expect(formatPercent(0.456)).toBe('46%');
    expect(formatPercent(Number.NaN)).toBe('—');
  });
});
