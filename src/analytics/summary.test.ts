import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../engine/duckdb.js';
import { literal, type ColumnSchema } from '../engine/sql.js';
import { parquetSource } from '../engine/profile.js';
import {
  alignedSlicing,
  bigint,
  fineWidthUs,
  MAX_FINE_BUCKETS,
  MIN_FINE_PER_SLICE,
  sliceSql,
  summarySql,
} from './summary.js';
import { timeseries, type TimeseriesRequest } from './timeseries.js';

/** Answers from a min/max summary against answers from the rows, over real DuckDB. */
let dir: string;
let engine: Engine;
/** The rows as a version holds them: a Parquet file. */
let ROWS: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'weir-summary-'));
  engine = await Engine.open({ memoryLimit: '256MB', threads: 2, tempDir: dir, tempLimitBytes: 1024 ** 3 });
  const file = path.join(dir, 'rows.parquet');
  await engine.run(`COPY ${GENERATED} TO ${literal(file)} (FORMAT parquet)`);
  ROWS = parquetSource(file);
});
afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

const col = (name: string, type: string): ColumnSchema => ({ name, type, nullable: true });

/**
 * 1,500,000 rows at irregular instants over about 3 years from 1969 (times before the epoch floor differently), in
 * no order, about 4 to a fine bucket (so slices that split fine buckets would show); every 7th value and every 11th
 * time null; values distinct (no ties for the lowest or highest of a slice). `w` is a second value column, an INTEGER;
 * `k` a key of 5 values.
 */
const GENERATED = `(SELECT CASE WHEN i % 11 = 0 THEN NULL ELSE TIMESTAMPTZ '1969-06-01 00:00:00+00' + to_microseconds(CAST(hash(i) % 100000000000000 AS BIGINT)) END AS ts,
  CASE WHEN i % 7 = 0 THEN NULL ELSE sin(i / 300.0) * 1000 + i / 1e7 END AS v,
  CAST(i * 7919 % 10000019 AS INTEGER) - 5000000 AS w, CAST(i % 5 AS VARCHAR) AS k
  FROM range(1500000) r(i) ORDER BY hash(i * 3))`;

async function rangeOf(time: string, value: string): Promise<{ loUs: number; hiUs: number }> {
  const [r] = await engine.all(
    `SELECT epoch_us(min(${time})) AS lo, epoch_us(max(${time})) AS hi FROM ${ROWS} WHERE ${time} IS NOT NULL AND ${value} IS NOT NULL`,
  );
  return { loUs: Number(r!.lo), hiUs: Number(r!.hi) };
}

/** A summary built into a file of its own per call, and the fine widths it was asked for. */
function summaries() {
  const asked: number[] = [];
  return {
    asked,
    summary: async (fineUs: number, rows: string) => {
      asked.push(fineUs);
      const file = path.join(dir, `summary-${asked.length}-${Math.random().toString(36).slice(2)}.parquet`);
      await engine.run(`COPY (${summarySql(rows, fineUs)}) TO ${literal(file)} (FORMAT parquet)`);
      return parquetSource(file);
    },
  };
}

async function both(req: TimeseriesRequest) {
  const s = summaries();
  const raw = await timeseries(engine, ROWS, req);
  const fromSummary = await timeseries(engine, ROWS, { ...req, summary: s.summary });
  return { raw, fromSummary, asked: s.asked };
}

const base = async (o: Partial<TimeseriesRequest> = {}): Promise<TimeseriesRequest> => ({
  time: col('ts', 'TIMESTAMP WITH TIME ZONE'),
  value: col('v', 'DOUBLE'),
  agg: 'mean',
  points: 1000,
  mode: 'minmax',
  range: await rangeOf('ts', o.value?.name ?? 'v'),
  rowsAtMost: 1_500_000,
  maxPoints: 100_000_000,
  ...o,
});

describe('fine buckets and aligned slices', () => {
  it('keeps the fine buckets within the cap with a width of 1, 2 or 5 × 10^k ms', () => {
    const day = 86_400e6;
    for (const span of [1, 1000, 3.7e9, day, 365 * day, 300 * 365 * day]) {
      const fine = fineWidthUs({ loUs: -span / 2, hiUs: span / 2 });
      expect(span / fine).toBeLessThanOrEqual(MAX_FINE_BUCKETS);
      expect(String(fine / 1000)).toMatch(/^[125]0*$/);
    }
  });

  it('answers at most the slices asked for, of whole fine buckets from a multiple of their width', () => {
    const range = { loUs: -123_456_789, hiUs: 9_876_543_210 };
    const fine = fineWidthUs(range);
    for (const slices of [1, 2, 7, 500, 1000]) {
      const s = alignedSlicing(range, slices, fine)!;
      expect(s.count).toBeLessThanOrEqual(slices);
      // Rounding the width up to whole fine buckets costs at most 1/16 of the slices.
      expect(s.count).toBeGreaterThanOrEqual(Math.floor((slices * MIN_FINE_PER_SLICE) / (MIN_FINE_PER_SLICE + 1)));
      expect(Math.abs(s.originUs % fine)).toBe(0);
      expect(s.widthUs % fine).toBe(0);
      expect(s.originUs).toBeLessThanOrEqual(range.loUs);
      expect(s.originUs + s.count * s.widthUs).toBeGreaterThan(range.hiUs);
    }
    // Slices narrower than 16 fine buckets: the rows answer.
    expect(alignedSlicing(range, Math.ceil(MAX_FINE_BUCKETS / MIN_FINE_PER_SLICE) + 1, fine)).toBeNull();
  });
});

describe('timeseries from a summary', () => {
  it('puts every row in the slice of its fine bucket, whatever the slicing', async () => {
    // What makes the answers exact: a fine bucket is never split between two slices.
    const range = await rangeOf('ts', 'v');
    const fine = fineWidthUs(range);
    const L = bigint(fine);
    for (const slices of [1, 2, 499, 500, 5000]) {
      const s = alignedSlicing(range, slices, fine)!;
      const [r] = await engine.all(
        `SELECT count(*) FILTER (${sliceSql('us', s)} <> ${sliceSql(`us - ((us % ${L}) + ${L}) % ${L}`, s)}) AS split, ` +
          `count(*) AS n FROM (SELECT epoch_us(ts) AS us FROM ${ROWS} WHERE ts IS NOT NULL)`,
      );
      expect(Number(r!.n)).toBeGreaterThan(1_000_000);
      expect(Number(r!.split), `slices=${slices}`).toBe(0);
    }
  });

  it('answers exactly what the rows answer, nulls in both columns, times before 1970 and out of order', async () => {
    for (const points of [1000, 999, 100, 2]) {
      const { raw, fromSummary, asked } = await both(await base({ points }));
      expect(asked, `points=${points}`).toHaveLength(1);
      expect(raw.downsampled).toBe(true);
      expect(fromSummary).toEqual(raw);
    }
  });

  it('answers another value column (an integer) from its own summary, exactly', async () => {
    const { raw, fromSummary, asked } = await both(await base({ value: col('w', 'INTEGER'), points: 500 }));
    expect(asked).toHaveLength(1);
    expect(fromSummary).toEqual(raw);
    expect(raw.points.length).toBeGreaterThan(400);
  });

  it('answers a request finer than the summary from the rows: slices narrower than 16 fine buckets', async () => {
    // 10,000 points (the most the API allows) are 5,000 slices of 20 fine buckets or more: aligned.
    const most = await both(await base({ points: 10_000 }));
    expect(most.asked).toHaveLength(1);
    expect(most.fromSummary).toEqual(most.raw);
    // 40,000 points are 20,000 slices, of fewer than 16 fine buckets: the rows answer, sliced as before.
    const finer = await both(await base({ points: 40_000 }));
    expect(finer.asked).toEqual([]);
    expect(finer.raw.downsampled).toBe(true);
    expect(finer.fromSummary).toEqual(finer.raw);
  });

  it('is not asked for buckets, lttb, a split, or a range the profile does not give', async () => {
    const req = await base({ points: 100 });
    // A part of the rows: these requests read them all, more than once.
    const part = `(SELECT * FROM ${ROWS} LIMIT 200000)`;
    for (const o of [
      { bucket: '1d', agg: 'max' as const },
      { mode: 'lttb' as const },
      { series: { column: col('k', 'VARCHAR'), limit: 3 } },
      { range: null },
    ]) {
      const s = summaries();
      const answer = await timeseries(engine, part, { ...req, ...o, summary: s.summary });
      expect(s.asked, JSON.stringify(o)).toEqual([]);
      expect(answer.downsampled).toBe(true);
    }
  });

  it('is not asked when its fine buckets would pass WEIR_MAX_OUTPUT_ROWS', async () => {
    const { asked } = await both(await base({ points: 100, maxPoints: MAX_FINE_BUCKETS - 1 }));
    expect(asked).toEqual([]);
  });
});
