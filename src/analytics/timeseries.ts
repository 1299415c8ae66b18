import type { Engine } from '../engine/duckdb.js';
import { outputTooLarge } from '../engine/limits.js';
import { ident, literal, typeFamily, type ColumnSchema } from '../engine/sql.js';
import { readDuration } from '../pipelines/steps/duration.js';
import { isoOfMicros } from './columns.js';
import { lttb } from './downsample.js';
import {
  alignedSlicing,
  fineWidthUs,
  MAX_FINE_BUCKETS,
  plainSlicing,
  sliceSql,
  slicesFromSummarySql,
} from './summary.js';

export const AGGREGATES = ['mean', 'sum', 'min', 'max', 'count'] as const;
export type Aggregate = (typeof AGGREGATES)[number];
export const DOWNSAMPLE_MODES = ['minmax', 'lttb'] as const;
export type DownsampleMode = (typeof DOWNSAMPLE_MODES)[number];

/** Series a split may answer: more lines than a palette of 20 colours tells apart is no longer a chart. */
export const MAX_SERIES = 20;
export const DEFAULT_SERIES = 10;

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
  /**
   * Only the rows whose time is within these bounds (epoch µs, both inclusive, either may be absent): a zoomed view
   * asks for its visible range, and the `points` are spent on it alone. Give `range: null` with it (the profile's
   * range is the whole column's).
   */
  within?: { fromUs?: number; toUs?: number };
  /** At least as many as the rows with both a time and a value (the profile's non-null counts): small series skip the grouping. */
  rowsAtMost: number;
  /** The most points an answer may hold (WEIR_MAX_OUTPUT_ROWS): a series that could answer more is refused first. */
  maxPoints: number;
  /**
   * One series per value of `column` (as text; null is a value of its own), the `limit` with the most rows: `points`
   * is shared among them. At least 2 points per series (the caller checks `points >= 2 × limit`).
   */
  series?: { column: ColumnSchema; limit: number };
  /**
   * The version's min/max summary of this time and value with fine buckets of `fineUs` (src/analytics/summary.ts),
   * as a DuckDB source, built from `rows` when there is none yet; null: answer from the rows. Asked only for a minmax
   * request of the rows themselves (no bucket, no split) whose slices are aligned to the fine buckets.
   */
  summary?: (fineUs: number, rows: string, signal?: AbortSignal) => Promise<string | null>;
}

/** How a split answered: which series, and what was left out. */
export interface SeriesSplit {
  column: string;
  limit: number;
  /** Distinct values of the column among the rows with a time and a value. */
  total: number;
  /** The series answered, most rows first (ties by value): `key` is the value as text, null for null. */
  shown: { key: string | null; rows: number; downsampled: boolean }[];
  /** The series left out (those with the fewest rows) and their rows: they are in no point. */
  omitted: number;
  omittedRows: number;
}

export interface Timeseries {
  time: string;
  value: string;
  agg: Aggregate;
  bucket: string | null;
  mode: DownsampleMode;
  /** Input rows: rows with both a time and a value. */
  rows: number;
  /**
   * Oldest first (series by series, in the order of `series.shown`, when split); `time` ISO 8601 UTC (a bucket's
   * start when aggregated); `series` the key of the point's series, only when split.
   */
  points: { time: string; value: number | null; series?: string | null }[];
  /** Per point, the least and greatest value of its bucket (only when aggregated by `bucket`). */
  band?: { time: string; min: number | null; max: number | null; series?: string | null }[];
  /** The series (any of them, when split) had more than its share of `points` and was reduced. */
  downsampled: boolean;
  /** Only when split by a column. */
  series?: SeriesSplit;
}

/** The points a slice offers: its lowest and highest value, and (for lttb) its first and last in time. */
const CANDIDATES = [
  { name: 'low', fn: 'arg_min', by: 'v' },
  { name: 'high', fn: 'arg_max', by: 'v' },
  { name: 'first', fn: 'arg_min', by: 'us' },
  { name: 'last', fn: 'arg_max', by: 'us' },
] as const;

/** A field of a slice's candidate point: min()/max() where that is what arg_min/arg_max would answer (cheaper). */
function pick(kind: (typeof CANDIDATES)[number], field: string): string {
  if (field === 'v' && kind.by === 'v') return kind.fn === 'arg_min' ? 'min(v)' : 'max(v)';
  return `${kind.fn}(${field}, ${kind.by})`;
}

interface SeriesPoint {
  /** Rank of the point's series (0 without a split). */
  s: number;
  us: number;
  v: number | null;
  lo: number | null;
  hi: number | null;
}

const num = (v: unknown): number | null =>
  typeof v === 'number' ? v : v === null || v === undefined ? null : Number(v);

/**
 * A time series of at most `points` points, whatever the number of rows. The series is the rows themselves or, with
 * `bucket`, one aggregate per bucket; when it is longer than `points` it is reduced in DuckDB in one grouped pass over
 * equal time slices (reading the two columns only): `minmax` keeps each slice's lowest and highest point, so spikes and
 * the global extremes survive; `lttb` keeps up to 4 × points candidates and lets Largest-Triangle-Three-Buckets pick.
 * With `series`, the rows of the largest series are split by their rank (`s`) in every query, and each series gets an
 * equal share of `points`, reduced on its own.
 */
export async function timeseries(
  engine: Engine,
  source: string,
  req: TimeseriesRequest,
  signal?: AbortSignal,
): Promise<Timeseries> {
  const t = typeFamily(req.time.type) === 'date' ? `CAST(${ident(req.time.name)} AS TIMESTAMP)` : ident(req.time.name);
  const v = req.value.type === 'DOUBLE' ? ident(req.value.name) : `CAST(${ident(req.value.name)} AS DOUBLE)`;
  // No isfinite() filter: it would double the cost of the pass. A NaN sorts above every number in DuckDB (a slice's
  // highest point) and is answered as null.
  const present = `${t} IS NOT NULL AND ${v} IS NOT NULL${withinSql(t, req.within)}`;
  const base = { time: req.time.name, value: req.value.name, agg: req.agg, bucket: req.bucket ?? null, mode: req.mode };
  const empty = (): Timeseries => ({
    ...base,
    rows: 0,
    points: [],
    ...(req.bucket ? { band: [] } : {}),
    downsampled: false,
  });

  const split = req.series ? await largestSeries(engine, source, present, req.series, signal) : null;
  if (split && split.shown.length === 0) return { ...empty(), series: split };
  // The keys are bound as parameters: they are data, and may hold anything.
  const rank = split
    ? seriesRank(
        req.series!.column,
        split.shown.map((s) => s.key),
      )
    : null;
  const params = rank?.params;
  // The rank is computed once per row (its parameters appear once in every query), then the other series dropped.
  const rows = rank
    ? `SELECT * FROM (SELECT ${rank.sql} AS s, ${t} AS t, ${v} AS v FROM ${source} WHERE ${present}) WHERE s IS NOT NULL`
    : `SELECT ${t} AS t, ${v} AS v FROM ${source} WHERE ${present}`;
  const s = split ? 's, ' : '';
  const us = 'epoch_us(t)';
  const step = req.bucket ? interval(req.bucket) : null;
  const series = step
    ? `SELECT ${s}epoch_us(time_bucket(${step.sql}, t)) AS us, CAST(${SQL_AGGREGATE[req.agg]}(v) AS DOUBLE) AS v, min(v) AS lo, max(v) AS hi, ` +
      `count(*) AS n FROM (${rows}) GROUP BY ${split ? '1, 2' : '1'}`
    : `SELECT ${s}${us} AS us, v FROM (${rows})`;
  const count = split ? split.shown.length : 1;

  const whole = (where = '', limit = '') =>
    engine.all(
      `SELECT ${split ? 's' : '0'} AS s, us, v${step ? ', lo, hi, n' : ', 1 AS n'} FROM (${series})${where} ORDER BY s, us${limit}`,
      params,
      signal,
    );
  const range = req.range ?? (await queryRange(engine, rows, us, params, signal));
  if (!range) return split ? { ...empty(), series: split } : empty();
  // Rows per series: counted exactly for a split, else at most the profile's count.
  const rowsOf = split ? split.shown.map((x) => x.rows) : [req.rowsAtMost];
  const buckets = step ? Math.floor((range.hiUs - range.loUs) / step.minUs) + 2 : Infinity;
  const lengthAtMost = rowsOf.reduce((a, n) => a + Math.min(n, buckets), 0);
  const answerAtMost = Math.min(
    req.points,
    lengthAtMost,
    rowsOf.reduce((a, n) => a + n, 0),
  );
  if (answerAtMost > req.maxPoints) {
    throw outputTooLarge({
      subject: 'The time series',
      count: answerAtMost,
      what: 'points',
      limit: req.maxPoints,
      hint: 'ask for fewer points',
      pointer: '/query/points',
    });
  }
  const done = (points: SeriesPoint[], total: number, reduced: Set<number>) => {
    const shown = split && { ...split, shown: split.shown.map((x, i) => ({ ...x, downsampled: reduced.has(i) })) };
    return answer(base, points, total, !!step, shown, reduced.size > 0);
  };

  // A short series is answered as it is (LIMIT points + 1 tells when the estimate was wrong).
  if (lengthAtMost <= req.points) {
    const direct = await whole('', ` LIMIT ${req.points + 1}`);
    if (direct.length <= req.points)
      return done(
        direct.map(toPoint),
        direct.reduce((a, r) => a + (num(r.n) ?? 0), 0),
        new Set(),
      );
  }

  // Each series' share. minmax: two points per slice, so share / 2 slices. lttb: up to four candidates per slice (M4:
  // first, last, lowest, highest, which keep a line drawn through them exact) in `share` slices, then LTTB picks `share`.
  const share = Math.floor(req.points / count);
  const kinds = req.mode === 'minmax' ? CANDIDATES.slice(0, 2) : CANDIDATES;
  const slices = req.mode === 'minmax' ? Math.max(1, Math.floor(share / 2)) : share;
  // The rows' own minmax slices are aligned to fine buckets whenever they are wide enough, summary or not: that the
  // summary answers exactly what the rows would rests on it.
  const fineUs = fineWidthUs(range);
  const aligned = !step && !split && req.mode === 'minmax' ? alignedSlicing(range, slices, fineUs) : null;
  const slicing = aligned ?? plainSlicing(range, slices);
  // Only a summary of the profiled range (the one it was built for) and within the output cap is used.
  const summary =
    aligned && req.range && req.summary && MAX_FINE_BUCKETS <= req.maxPoints
      ? await req.summary(fineUs, rows, signal)
      : null;
  const fields = step ? ['us', 'v', 'lo', 'hi'] : ['us', 'v'];
  const picks = kinds.flatMap((k) => fields.map((f) => `${pick(k, f)} AS ${k.name}_${f}`));
  const grouped = await engine.all(
    summary
      ? slicesFromSummarySql(summary, slicing)
      : `SELECT ${split ? 's' : '0'} AS s, ${sliceSql('us', slicing)} AS slice, ${step ? 'sum(n)' : 'count(*)'} AS n, count(*) AS length, ${picks.join(', ')} ` +
          `FROM (${series}) GROUP BY ${split ? 's, 2' : '2'} ORDER BY 1, 2`,
    params,
    signal,
  );
  const total = grouped.reduce((a, r) => a + (num(r.n) ?? 0), 0);
  const bySeries = Array.from({ length: count }, () => [] as Record<string, unknown>[]);
  for (const r of grouped) bySeries[num(r.s)!]?.push(r);
  // A series within its share after all (rows without a value, sparse buckets) is answered as it is.
  const short = bySeries.flatMap((g, i) => (g.reduce((a, r) => a + (num(r.length) ?? 0), 0) <= share ? [i] : []));
  const shortPoints =
    short.length === 0 ? [] : (await whole(split ? ` WHERE s IN (${short.join(', ')})` : '')).map(toPoint);
  const points: SeriesPoint[] = [];
  const reduced = new Set<number>();
  for (const [i, g] of bySeries.entries()) {
    if (short.includes(i)) {
      points.push(...shortPoints.filter((p) => p.s === i));
      continue;
    }
    const candidates: SeriesPoint[] = [];
    for (const r of g) {
      const kept = new Map<number, SeriesPoint>();
      for (const k of kinds) {
        const p = {
          s: i,
          us: num(r[`${k.name}_us`])!,
          v: num(r[`${k.name}_v`]),
          lo: num(r[`${k.name}_lo`]),
          hi: num(r[`${k.name}_hi`]),
        };
        kept.set(p.us, p);
      }
      candidates.push(...[...kept.values()].sort((a, b) => a.us - b.us));
    }
    points.push(
      ...(req.mode === 'lttb'
        ? lttb(
            candidates,
            share,
            (p) => p.us,
            (p) => p.v ?? 0,
          )
        : candidates),
    );
    reduced.add(i);
  }
  return done(points, total, reduced);
}

/**
 * The `limit` values of `column` with the most rows that have a time and a value (ties by value, null last), how
 * many values there are, and the rows of the rest: one grouped pass.
 */
async function largestSeries(
  engine: Engine,
  source: string,
  present: string,
  req: { column: ColumnSchema; limit: number },
  signal?: AbortSignal,
): Promise<SeriesSplit> {
  const key = `CAST(${ident(req.column.name)} AS VARCHAR)`;
  const groups = `SELECT ${key} AS k, count(*) AS n FROM ${source} WHERE ${present} GROUP BY 1`;
  const top = await engine.all(
    `SELECT k, n, count(*) OVER () AS total, sum(n) OVER () AS all_rows FROM (${groups}) ORDER BY n DESC, k NULLS LAST LIMIT ${req.limit}`,
    undefined,
    signal,
  );
  const shown = top.map((r) => ({
    key: r.k === null || r.k === undefined ? null : String(r.k),
    rows: num(r.n) ?? 0,
    downsampled: false,
  }));
  const total = num(top[0]?.total) ?? 0;
  const allRows = num(top[0]?.all_rows) ?? 0;
  return {
    column: req.column.name,
    limit: req.limit,
    total,
    shown,
    omitted: total - shown.length,
    omittedRows: allRows - shown.reduce((a, x) => a + x.rows, 0),
  };
}

/** The rank (0…) of a row's series among `keys`, null for a row of another series: the keys are bound as parameters. */
function seriesRank(column: ColumnSchema, keys: (string | null)[]): { sql: string; params: string[] } {
  const c = ident(column.name);
  const params: string[] = [];
  const whens = keys.map((k, i) => {
    if (k === null) return `WHEN ${c} IS NULL THEN ${i}`;
    params.push(k);
    return `WHEN CAST(${c} AS VARCHAR) = ? THEN ${i}`;
  });
  return { sql: `(CASE ${whens.join(' ')} END)`, params };
}

/** The bounds as a condition on epoch µs (what the points are answered in, so a TIMESTAMPTZ compares by instant). */
function withinSql(t: string, within: TimeseriesRequest['within']): string {
  const bound = (op: string, us: number | undefined) =>
    us === undefined ? '' : ` AND epoch_us(${t}) ${op} ${BigInt(Math.round(us)).toString()}`;
  return bound('>=', within?.fromUs) + bound('<=', within?.toUs);
}

function toPoint(r: Record<string, unknown>): SeriesPoint {
  return { s: num(r.s) ?? 0, us: num(r.us)!, v: num(r.v), lo: num(r.lo), hi: num(r.hi) };
}

async function queryRange(
  engine: Engine,
  rows: string,
  us: string,
  params: string[] | undefined,
  signal?: AbortSignal,
): Promise<{ loUs: number; hiUs: number } | null> {
  const [r] = await engine.all(`SELECT min(${us}) AS lo, max(${us}) AS hi FROM (${rows})`, params, signal);
  const lo = num(r?.lo);
  const hi = num(r?.hi);
  return lo === null || hi === null ? null : { loUs: lo, hiUs: hi };
}

function answer(
  base: Omit<Timeseries, 'rows' | 'points' | 'band' | 'downsampled' | 'series'>,
  points: SeriesPoint[],
  rows: number,
  withBand: boolean,
  split: SeriesSplit | null,
  downsampled: boolean,
): Timeseries {
  const key = (p: SeriesPoint) => (split ? { series: split.shown[p.s]?.key ?? null } : {});
  const out: Timeseries = {
    ...base,
    rows,
    points: points.map((p) => ({ time: isoOfMicros(p.us), value: p.v, ...key(p) })),
    downsampled,
  };
  if (withBand) out.band = points.map((p) => ({ time: isoOfMicros(p.us), min: p.lo, max: p.hi, ...key(p) }));
  if (split) out.series = split;
  return out;
}
