import { describe, expect, it } from 'vitest';
import { ticks, timeAxis } from './time-axis.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number[]) => ms.map((t) => new Date(t).toISOString());

describe('timeAxis', () => {
  it.each([
    ['ten years', '2015-03-01T00:00:00Z', '2025-02-01T00:00:00Z', '%Y', null],
    ['200 days over a new year', '2024-12-20T00:00:00Z', '2025-07-08T00:00:00Z', '%b %Y', null],
    ['20 days', '2024-12-20T00:00:00Z', '2025-01-09T00:00:00Z', '%Y-%m-%d', null],
    ['20 hours of one day', '2024-12-20T00:00:00Z', '2024-12-20T19:00:00Z', '%H:%M', '2024-12-20'],
    ['20 hours over midnight', '2024-12-20T10:00:00Z', '2024-12-21T06:00:00Z', '%Y-%m-%d %H:%M', null],
    ['a minute', '2024-12-20T10:00:00Z', '2024-12-20T10:01:00Z', '%H:%M:%S', '2024-12-20'],
  ])('labels %s with one format that shows the year, or names the day', (_span, lo, hi, format, day) => {
    const axis = timeAxis(at(lo), at(hi), 570);
    expect(axis).toMatchObject({ format, day });
    expect(axis.values.length).toBeGreaterThanOrEqual(2);
    for (const t of axis.values) {
      expect(t).toBeGreaterThanOrEqual(at(lo));
      expect(t).toBeLessThanOrEqual(at(hi));
    }
  });

  it('takes fewer ticks, further apart, on a narrower axis', () => {
    const wide = timeAxis(at('2024-01-01T00:00:00Z'), at('2024-01-31T00:00:00Z'), 1500);
    const narrow = timeAxis(at('2024-01-01T00:00:00Z'), at('2024-01-31T00:00:00Z'), 300);
    expect(wide.values.length).toBeGreaterThan(narrow.values.length);
    expect(narrow.values.length).toBeLessThanOrEqual(3);
  });
});

describe('ticks', () => {
  it('puts ticks on round UTC instants: weeks on Mondays, quarters on their first days, years before 100', () => {
    expect(iso(ticks(at('2024-01-01T00:20:00Z'), at('2024-01-01T01:00:00Z'), 'minute', 15))).toEqual([
      '2024-01-01T00:30:00.000Z',
      '2024-01-01T00:45:00.000Z',
      '2024-01-01T01:00:00.000Z',
    ]);
    expect(iso(ticks(at('2024-01-03T00:00:00Z'), at('2024-01-20T00:00:00Z'), 'week', 1))).toEqual([
      '2024-01-08T00:00:00.000Z',
      '2024-01-15T00:00:00.000Z',
    ]);
    expect(iso(ticks(at('2024-02-10T00:00:00Z'), at('2024-12-31T00:00:00Z'), 'month', 3))).toEqual([
      '2024-04-01T00:00:00.000Z',
      '2024-07-01T00:00:00.000Z',
      '2024-10-01T00:00:00.000Z',
    ]);
    expect(iso(ticks(at('0040-06-01T00:00:00Z'), at('0075-01-01T00:00:00Z'), 'year', 25))).toEqual([
      '0050-01-01T00:00:00.000Z',
      '0075-01-01T00:00:00.000Z',
    ]);
  });
});
