import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../engine/duckdb.js';
import type { ColumnSchema } from '../engine/sql.js';
import { correlationAndMissing, MAX_CORRELATION_COLUMNS } from './stats.js';
import { timeseries, type TimeseriesRequest } from './timeseries.js';

/** The series functions over real DuckDB, with inline tables as sources. */
let dir: string;
let engine: Engine;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-analytics-'));
  engine = await Engine.open({ memoryLimit: '256MB', threads: 2, tempDir: dir, tempLimitBytes: 1024 ** 3 });
});
afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

const col = (name: string, type: string): ColumnSchema => ({ name, type, nullable: true });
const request = (o: Partial<TimeseriesRequest>): TimeseriesRequest => ({
  time: col('d', 'DATE'),
  value: col('v', 'BIGINT'),
  agg: 'sum',
  points: 1000,
  mode: 'minmax',
  range: null,
  rowsAtMost: 1_000_000,
  maxPoints: 10_000_000,
  ...o,
});

describe('timeseries', () => {
  it('buckets a date column by ISO week, from Monday, in UTC', async () => {
    const source =
      "(SELECT * FROM (VALUES (DATE '2024-04-01', 1), (DATE '2024-04-07', 2), (DATE '2024-04-08', 5), (NULL, 9)) t(d, v))";
    const s = await timeseries(engine, source, request({ bucket: '1w' }));
    expect(s.points).toEqual([
      { time: '2024-04-01T00:00:00.000Z', value: 3 },
      { time: '2024-04-08T00:00:00.000Z', value: 5 },
    ]);
    expect(s.band).toEqual([
      { time: '2024-04-01T00:00:00.000Z', min: 1, max: 2 },
      { time: '2024-04-08T00:00:00.000Z', min: 5, max: 5 },
    ]);
    expect(s.rows).toBe(3);
    expect(s.downsampled).toBe(false);
  });

  it('answers an empty series when no row has both a time and a value', async () => {
    const source = "(SELECT * FROM (VALUES (DATE '2024-04-01', NULL), (NULL, 2)) t(d, v))";
    expect(await timeseries(engine, source, request({}))).toEqual({
      time: 'd',
      value: 'v',
      agg: 'sum',
      bucket: null,
      mode: 'minmax',
      rows: 0,
      points: [],
      downsampled: false,
    });
    expect((await timeseries(engine, source, request({ bucket: '1d' }))).band).toEqual([]);
  });

  it('answers sparse buckets as they are though their span could hold more than `points`', async () => {
    // Two minutes a year apart: the span holds 500,000 one-minute buckets, the data two.
    const source =
      "(SELECT * FROM (VALUES (TIMESTAMPTZ '2023-01-01 00:00:30+00', 1.5), (TIMESTAMPTZ '2024-01-01 00:00:10+00', 2.5)) t(ts, v))";
    const s = await timeseries(
      engine,
      source,
      request({
        time: col('ts', 'TIMESTAMP WITH TIME ZONE'),
        value: col('v', 'DECIMAL(2,1)'),
        agg: 'mean',
        bucket: '1m',
        points: 10,
      }),
    );
    expect(s.points).toEqual([
      { time: '2023-01-01T00:00:00.000Z', value: 1.5 },
      { time: '2024-01-01T00:00:00.000Z', value: 2.5 },
    ]);
    expect(s.downsampled).toBe(false);
  });

  it('refuses a series that could answer more points than the output limit, before running anything but its range', async () => {
    const source = "(SELECT DATE '2024-01-01' + CAST(i AS INTEGER) AS d, i AS v FROM range(50) r(i))";
    await expect(timeseries(engine, source, request({ points: 40, maxPoints: 30 }))).rejects.toMatchObject({
      status: 422,
      code: 'output_too_large',
      extensions: { rows: 40, limit: 30 },
      message:
        'The time series would make 40 points, more than the limit of 30 (WEIR_MAX_OUTPUT_ROWS); ask for fewer points (at /query/points)',
      errors: [{ pointer: '/query/points' }],
    });
    // A series that cannot be that long is answered: 50 rows in at most 8 weekly buckets.
    expect(
      (await timeseries(engine, source, request({ points: 40, maxPoints: 30, bucket: '1w' }))).points,
    ).toHaveLength(8);
    const thirty = "(SELECT DATE '2024-01-01' + CAST(i AS INTEGER) AS d, i AS v FROM range(30) r(i))";
    expect(
      (await timeseries(engine, thirty, request({ points: 40, maxPoints: 30, rowsAtMost: 30 }))).points,
    ).toHaveLength(30);
  });

  it('answers the rows when the row estimate was high, and reduces them when it was right', async () => {
    const source =
      "(SELECT DATE '2024-01-01' + CAST(i AS INTEGER) AS d, CASE WHEN i % 10 = 0 THEN i END AS v FROM range(50) r(i))";
    const few = await timeseries(engine, source, request({ points: 5, rowsAtMost: 50 }));
    expect(few.points.map((p) => p.value)).toEqual([0, 10, 20, 30, 40]);
    expect(few.downsampled).toBe(false);
    const reduced = await timeseries(engine, source, request({ points: 4, rowsAtMost: 50 }));
    expect(reduced.downsampled).toBe(true);
    expect(reduced.rows).toBe(5);
    // Two slices of about 20 days (the range of the rows with a value): the lowest and highest of each.
    expect(reduced.points.map((p) => p.value)).toEqual([0, 20, 30, 40]);
  });
});

describe('timeseries split by a column', () => {
  /** Hourly rows of three devices with 30, 20 and 10 rows, and 5 rows of no device; values tell device and hour apart. */
  const DEVICES = `(SELECT TIMESTAMP '2024-01-01' + to_hours(h) AS ts, dev, CAST(d * 100 + h AS DOUBLE) AS v FROM (VALUES ('a', 1, 30), ('b', 2, 20), ('c', 3, 10), (NULL, 4, 5)) devs(dev, d, n), range(n) r(h))`;
  const split = (o: Partial<TimeseriesRequest>, limit: number) =>
    request({
      time: col('ts', 'TIMESTAMP'),
      value: col('v', 'DOUBLE'),
      rowsAtMost: 65,
      series: { column: col('dev', 'VARCHAR'), limit },
      ...o,
    });

  it('answers the largest series, each line whole when it fits its share, and says what was left out', async () => {
    const s = await timeseries(engine, DEVICES, split({ points: 100 }, 2));
    expect(s.series).toEqual({
      column: 'dev',
      limit: 2,
      total: 4,
      omitted: 2,
      omittedRows: 15,
      shown: [
        { key: 'a', rows: 30, downsampled: false },
        { key: 'b', rows: 20, downsampled: false },
      ],
    });
    expect(s.rows).toBe(50);
    expect(s.points).toHaveLength(50);
    expect(s.points.slice(0, 2)).toEqual([
      { time: '2024-01-01T00:00:00.000Z', value: 100, series: 'a' },
      { time: '2024-01-01T01:00:00.000Z', value: 101, series: 'a' },
    ]);
    expect(s.points.filter((p) => p.series === 'b').map((p) => p.value)).toEqual(
      Array.from({ length: 20 }, (_, h) => 200 + h),
    );
    expect(s.downsampled).toBe(false);
  });

  it('keeps null as a series of its own and shares `points` among the series, reducing only those over their share', async () => {
    const s = await timeseries(engine, DEVICES, split({ points: 40 }, 4));
    expect(s.series!.shown.map((x) => [x.key, x.rows, x.downsampled])).toEqual([
      ['a', 30, true],
      ['b', 20, true],
      ['c', 10, false],
      [null, 5, false],
    ]);
    expect(s.series).toMatchObject({ total: 4, omitted: 0, omittedRows: 0 });
    const of = (key: string | null) => s.points.filter((p) => p.series === key);
    // Ten points each at most; minmax keeps the extremes of each series.
    expect(of('a').length).toBeLessThanOrEqual(10);
    expect(of('a').map((p) => p.value)).toEqual(expect.arrayContaining([100, 129]));
    expect(of('c').map((p) => p.value)).toEqual(Array.from({ length: 10 }, (_, h) => 300 + h));
    expect(of(null).map((p) => p.value)).toEqual([400, 401, 402, 403, 404]);
    expect(s.points.length).toBeLessThanOrEqual(40);
    expect(s.downsampled).toBe(true);
  });

  it('splits buckets too, band and points alike, and treats keys as data', async () => {
    const hostile = `(SELECT TIMESTAMP '2024-01-01' + to_hours(h) AS ts, CASE WHEN h % 2 = 0 THEN 'x'' OR 1=1 --' ELSE '?' END AS dev, CAST(h AS DOUBLE) AS v FROM range(48) r(h))`;
    const s = await timeseries(engine, hostile, split({ bucket: '1d', agg: 'max', rowsAtMost: 48 }, 5));
    // 24 rows each: a tie, ordered by the value.
    expect(s.series!.shown.map((x) => x.key)).toEqual(['?', "x' OR 1=1 --"]);
    expect(s.points).toEqual([
      { time: '2024-01-01T00:00:00.000Z', value: 23, series: '?' },
      { time: '2024-01-02T00:00:00.000Z', value: 47, series: '?' },
      { time: '2024-01-01T00:00:00.000Z', value: 22, series: "x' OR 1=1 --" },
      { time: '2024-01-02T00:00:00.000Z', value: 46, series: "x' OR 1=1 --" },
    ]);
    expect(s.band![2]).toEqual({ time: '2024-01-01T00:00:00.000Z', min: 0, max: 22, series: "x' OR 1=1 --" });
  });

  it('answers no series when no row has a time and a value', async () => {
    const s = await timeseries(
      engine,
      "(SELECT TIMESTAMP '2024-01-01' AS ts, 'a' AS dev, CAST(NULL AS DOUBLE) AS v)",
      split({}, 3),
    );
    expect(s).toMatchObject({ rows: 0, points: [], series: { total: 0, shown: [], omitted: 0, omittedRows: 0 } });
  });
});

describe('correlationAndMissing', () => {
  it(`keeps the first ${MAX_CORRELATION_COLUMNS} numeric columns and says how many there were`, async () => {
    const names = Array.from({ length: 52 }, (_, i) => `c${i}`);
    const source = `(SELECT ${names.map((n, i) => `i * ${i + 1} AS ${n}`).join(', ')}, 'x' AS label FROM range(3) r(i))`;
    const schema = [...names.map((n) => col(n, 'BIGINT')), col('label', 'VARCHAR')];
    const { correlation, missing } = await correlationAndMissing(engine, source, schema);
    expect(correlation.columns).toEqual(names.slice(0, 50));
    expect(correlation.numericColumns).toBe(52);
    expect(correlation.truncated).toBe(true);
    expect(correlation.matrix).toHaveLength(50);
    expect(correlation.matrix[49]![0]).toBeCloseTo(1, 12);
    expect(missing).toMatchObject({ rows: 3, rowsWithNulls: 0, totalNulls: 0 });
    expect(missing.columns).toHaveLength(53);
  });

  it('answers an empty version without dividing by zero', async () => {
    const { correlation, missing } = await correlationAndMissing(engine, '(SELECT 1.0 AS a, NULL AS b LIMIT 0)', [
      col('a', 'DOUBLE'),
      col('b', 'INTEGER'),
    ]);
    expect(correlation.matrix).toEqual([
      [null, null],
      [null, null],
    ]);
    expect(missing).toEqual({
      rows: 0,
      columns: [
        { name: 'a', nulls: 0, fraction: 0 },
        { name: 'b', nulls: 0, fraction: 0 },
      ],
      rowsWithNulls: 0,
      rowsWithNullsFraction: 0,
      totalNulls: 0,
    });
  });
});
