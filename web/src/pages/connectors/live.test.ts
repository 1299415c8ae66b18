import { describe, expect, it } from 'vitest';
import { applyRecords, mergeLatest, NO_SERIES, numericFields, POINTS_PER_FIELD, timeField } from './live';

const fields = [
  { name: 'at', type: 'timestamp' },
  { name: 'temp', type: 'double' },
  { name: 'count', type: 'bigint' },
  { name: 'room', type: 'varchar' },
];

describe('the live series of a connector', () => {
  it('draws the numeric fields, timed by the first timestamp field', () => {
    expect(numericFields(fields)).toEqual(['temp', 'count']);
    expect(timeField(fields)).toBe('at');
    expect(timeField([{ name: 'x', type: 'double' }])).toBeNull();
  });

  it("makes a point of each numeric value at the record's time, or the event's when it has none", () => {
    const series = applyRecords(
      NO_SERIES,
      {
        count: 3,
        records: [
          { at: '2026-12-06T10:00:00Z', temp: 21.5, count: '9007199254740993', room: 'a' },
          { at: null, temp: 'n/a', count: 4 },
          { temp: 22 },
        ],
      },
      fields,
      '2026-12-06T10:00:05Z',
    );
    expect(series.points).toEqual([
      { t: Date.parse('2026-12-06T10:00:00Z'), field: 'temp', value: 21.5 },
      { t: Date.parse('2026-12-06T10:00:00Z'), field: 'count', value: 9007199254740992 },
      { t: Date.parse('2026-12-06T10:00:05Z'), field: 'count', value: 4 },
      { t: Date.parse('2026-12-06T10:00:05Z'), field: 'temp', value: 22 },
    ]);
    expect(series.received).toBe(3);
    expect(series.skipped).toBe(0);
  });

  it('counts records the tail left out, and keeps only the newest points per field', () => {
    let series = NO_SERIES;
    for (let i = 0; i < POINTS_PER_FIELD + 10; i++)
      series = applyRecords(
        series,
        { count: 2, records: [{ temp: i }] },
        [{ name: 'temp', type: 'double' }],
        new Date(1000 * i).toISOString(),
      );
    expect(series.points).toHaveLength(POINTS_PER_FIELD);
    expect(series.points[0]).toEqual({ t: 10_000, field: 'temp', value: 10 });
    expect(series.points.at(-1)?.value).toBe(POINTS_PER_FIELD + 9);
    expect(series.received).toBe(2 * (POINTS_PER_FIELD + 10));
    expect(series.skipped).toBe(POINTS_PER_FIELD + 10);
  });

  it('lays the newest record over the latest values', () => {
    const latest = { connectorId: 'con_1', at: null, values: { temp: 20, hum: 40 } };
    expect(
      mergeLatest(
        latest,
        [
          { temp: 21, hum: 41 },
          { temp: 22, hum: null },
        ],
        '2026-12-06T10:00:00Z',
      ),
    ).toEqual({
      connectorId: 'con_1',
      at: '2026-12-06T10:00:00Z',
      values: { temp: 22, hum: 41 },
    });
    expect(mergeLatest(latest, [], 'x')).toBe(latest);
  });
});
