import type { Engine } from '../engine/duckdb.js';
import { outputTooLarge } from '../engine/limits.js';
import { ident, literal, typeFamily, type ColumnSchema } from '../engine/sql.js';
import { readDuration } from '../pipelines/steps/duration.js';
import { isoOfMicros } from './columns.js';
import { lttb } from './downsample.js';

export const AGGREGATES = ['mean', 'sum', 'min', 'max', 'count'] as const;
export type Aggregate = (typeof AGGREGATES)[number];
export const DOWNSAMPLE_MODES = ['minmax', 'lttb'] as const;
export type DownsampleMode = (typeof DOWNSAMPLE_MODES)[number];

/** `15m`, `1h`, `1d`, `1w`, `1mo`, `1y`, `30s`: a count and a unit. */
export const BUCKET_PATTERN = '^[1-9][0-9]{0,5}(s|m|h|d|w|mo|y)$';

const SQL_AGGREGATE: Record<Aggregate, string> = { mean: 'avg', sum: 'sum', min: 'min', max: 'max', count: 'count' };

/**
 * An interval of the bucket syntax (the pipelines' duration grammar, src/pipelines/steps/duration.ts) as SQL: a
 * literal made from that grammar's own unit names and the digits it allowed, and its shortest length in µs.
 */
function interval(bucket: string): { sql: string; minUs: number } {
  const duration = readDuration(bucket);
  if (!duration) throw new Error(`invalid bucket ${bucket}`);
  return { sql: `CAST(${literal(duration.interval)} AS INTERVAL)`, minUs: duration.shortestSeconds * 1e6 };
}

export interface TimeseriesRequest {
  time: ColumnSchema;
  value: ColumnSchema;
  agg: Aggregate;
  /** Aggregate per calendar bucket of this size (UTC; weeks start on Monday); absent: the rows themselves. */
  bucket?: string;
  /** At most this many points are answered. */
  points: number;
  mode: DownsampleMode;
  /** The time column's range in µs when known (the stored profile has it); otherwise it is queried. */
  range: { loUs: number; hiUs: number } | null;
  /** At least as many as the rows with both a time and a value (the profile's non-null counts): small series skip the grouping. */
  rowsAtMost: number;
  /** The most points an answer may hold (WEIR_MAX_OUTPUT_ROWS): a series that could answer more is refused first. */
  maxPoints: number;
}

export interface Timeseries {
  time: string;
  value: string;
  agg: Aggregate;
  bucket: string | null;
  mode: DownsampleMode;
  /** Input rows: rows with both a time and a value. */
  rows: number;
  /** Oldest first; `time` ISO 8601 UTC (a bucket's start when aggregated). */
  points: { time: string; value: number | null }[];
  /** Per point, the least and greatest value of its bucket (only when aggregated by `bucket`). */
  band?: { time: string; min: number | null; max: number | null }[];
  /** The series had more than `points` points and was reduced. */
  downsampled: boolean;
}

/** The points a slice offers: its lowest and highest value, and (for lttb) its first and last in time. */
const CANDIDATES = [
  { name: 'low', fn: 'arg_min', by: 'v' },
  { name: 'high', fn: 'arg_max', by: 'v' },
  { name: 'first', fn: 'arg_min', by: 'us' },
  { name: 'last', fn: 'arg_max', by: 'us' },
] as const;

/**
 * An integer written into the SQL. Bound as a parameter, a JS bigint becomes a HUGEINT, and the slice arithmetic
 * over every row with it (tens of times slower than BIGINT).
 */
function bigint(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`not a safe integer: ${n}`);
  return `CAST(${n} AS BIGINT)`;
}

/** A field of a slice's candidate point: min()/max() where that is what arg_min/arg_max would answer (cheaper). */
function pick(kind: (typeof CANDIDATES)[number], field: string): string {
  if (field === 'v' && kind.by === 'v') return kind.fn === 'arg_min' ? 'min(v)' : 'max(v)';
  return `${kind.fn}(${field}, ${kind.by})`;
}

interface SeriesPoint {
  us: number;
  v: number | null;
  lo: number | null;
  hi: number | null;
}

const num = (v: unknown): number | null => (typeof v === 'number' ? v : v === null || v === undefined ? null : Number(v));

/**
 * A time series of at most `points` points, whatever the number of rows. The series is the rows themselves or, with
 * `bucket`, one aggregate per bucket; when it is longer than `points` it is reduced in DuckDB in one grouped pass over
 * equal time slices (reading the two columns only): `minmax` keeps each slice's lowest and highest point, so spikes and
 * the global extremes survive; `lttb` keeps up to 4 × points candidates and lets Largest-Triangle-Three-Buckets pick.
 */
export async function timeseries(engine: Engine, source: string, req: TimeseriesRequest, signal?: AbortSignal): Promise<Timeseries> {
  const t = typeFamily(req.time.type) === 'date' ? `CAST(${ident(req.time.name)} AS TIMESTAMP)` : ident(req.time.name);
  const v = req.value.type === 'DOUBLE' ? ident(req.value.name) : `CAST(${ident(req.value.name)} AS DOUBLE)`;
  // No isfinite() filter: it would double the cost of the pass. A NaN sorts above every number in DuckDB (a slice's
  // highest point) and is answered as null.
  const rows = `SELECT ${t} AS t, ${v} AS v FROM ${source} WHERE ${t} IS NOT NULL AND ${v} IS NOT NULL`;
  const us = 'epoch_us(t)';
  const step = req.bucket ? interval(req.bucket) : null;
  const series = step
    ? `SELECT epoch_us(time_bucket(${step.sql}, t)) AS us, CAST(${SQL_AGGREGATE[req.agg]}(v) AS DOUBLE) AS v, min(v) AS lo, max(v) AS hi, count(*) AS n FROM (${rows}) GROUP BY 1`
    : `SELECT ${us} AS us, v FROM (${rows})`;
  const base = { time: req.time.name, value: req.value.name, agg: req.agg, bucket: req.bucket ?? null, mode: req.mode };

  const whole = (limit = '') => engine.all(`SELECT us, v${step ? ', lo, hi, n' : ', 1 AS n'} FROM (${series}) ORDER BY us${limit}`, undefined, signal);
  const range = req.range ?? (await queryRange(engine, rows, us, signal));
  if (!range) return { ...base, rows: 0, points: [], ...(step ? { band: [] } : {}), downsampled: false };
  const lengthAtMost = step ? Math.floor((range.hiUs - range.loUs) / step.minUs) + 2 : req.rowsAtMost;
  const answerAtMost = Math.min(req.points, lengthAtMost, req.rowsAtMost);
  if (answerAtMost > req.maxPoints) {
    throw outputTooLarge({ subject: 'The time series', count: answerAtMost, what: 'points', limit: req.maxPoints, hint: 'ask for fewer points', pointer: '/query/points' });
  }

  // A short series is answered as it is (LIMIT points + 1 tells when the estimate was wrong).
  if (lengthAtMost <= req.points) {
    const direct = await whole(` LIMIT ${req.points + 1}`);
    if (direct.length <= req.points) return answer(base, direct.map(toPoint), direct.reduce((a, r) => a + (num(r.n) ?? 0), 0), !!step, false);
  }

  // minmax: two points per slice, so points / 2 slices. lttb: up to four candidates per slice (M4: first, last,
  // lowest, highest, which keep a line drawn through them exact) in `points` slices, then LTTB picks `points`.
  const kinds = req.mode === 'minmax' ? CANDIDATES.slice(0, 2) : CANDIDATES;
  const slices = req.mode === 'minmax' ? Math.max(1, Math.floor(req.points / 2)) : req.points;
  // Whole microseconds: integer division is the cheapest way to a slice number over millions of rows.
  const width = Math.max(1, Math.ceil((range.hiUs - range.loUs + 1) / slices));
  const fields = step ? ['us', 'v', 'lo', 'hi'] : ['us', 'v'];
  const picks = kinds.flatMap((k) => fields.map((f) => `${pick(k, f)} AS ${k.name}_${f}`));
  const grouped = await engine.all(
    `SELECT greatest(0, least((us - ${bigint(range.loUs)}) // ${bigint(width)}, ${slices - 1})) AS slice, ${step ? 'sum(n)' : 'count(*)'} AS n, count(*) AS length, ` +
    `${picks.join(', ')} FROM (${series}) GROUP BY 1 ORDER BY 1`,
    undefined, signal,
  );
  const total = grouped.reduce((a, r) => a + (num(r.n) ?? 0), 0);
  if (grouped.reduce((a, r) => a + (num(r.length) ?? 0), 0) <= req.points) {
    // The estimate was high (rows without a value, sparse buckets): the series is short after all.
    return answer(base, (await whole()).map(toPoint), total, !!step, false);
  }
  const candidates: SeriesPoint[] = [];
  for (const r of grouped) {
    const slice = new Map<number, SeriesPoint>();
    for (const k of kinds) {
      const p = { us: num(r[`${k.name}_us`])!, v: num(r[`${k.name}_v`]), lo: num(r[`${k.name}_lo`]), hi: num(r[`${k.name}_hi`]) };
      slice.set(p.us, p);
    }
    candidates.push(...[...slice.values()].sort((a, b) => a.us - b.us));
  }
  const kept = req.mode === 'lttb' ? lttb(candidates, req.points, (p) => p.us, (p) => p.v ?? 0) : candidates;
  return answer(base, kept, total, !!step, true);
}

function toPoint(r: Record<string, unknown>): SeriesPoint {
  return { us: num(r.us)!, v: num(r.v), lo: num(r.lo), hi: num(r.hi) };
}

async function queryRange(engine: Engine, rows: string, us: string, signal?: AbortSignal): Promise<{ loUs: number; hiUs: number } | null> {
  const [r] = await engine.all(`SELECT min(${us}) AS lo, max(${us}) AS hi FROM (${rows})`, undefined, signal);
  const lo = num(r?.lo);
  const hi = num(r?.hi);
  return lo === null || hi === null ? null : { loUs: lo, hiUs: hi };
}

function answer(base: Omit<Timeseries, 'rows' | 'points' | 'band' | 'downsampled'>, points: SeriesPoint[], rows: number, withBand: boolean, downsampled: boolean): Timeseries {
  const out: Timeseries = { ...base, rows, points: points.map((p) => ({ time: isoOfMicros(p.us), value: p.v })), downsampled };
  if (withBand) out.band = points.map((p) => ({ time: isoOfMicros(p.us), min: p.lo, max: p.hi }));
  return out;
}
