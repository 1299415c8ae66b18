import type { Engine } from './duckdb.js';
import { ident, isNumeric, isoTimestamp, literal, typeFamily, type ColumnSchema } from './sql.js';

/** What GET /datasets/:id/profile answers, computed once when a version is written. */
export interface ColumnProfile {
  name: string;
  type: string;
  /** Non-null values. */
  count: number;
  nulls: number;
  /** Distinct non-null values: exact when `distinctExact`, else a HyperLogLog estimate (a few percent off, at most `count`). */
  distinctEstimate: number;
  distinctExact: boolean;
  /** Numbers as numbers, timestamps as ISO strings, text lexicographically; null when the column is empty. */
  min: number | string | boolean | null;
  max: number | string | boolean | null;
  mean: number | null;
  stddev: number | null;
  /** Approximate quantiles of numeric columns. */
  quantiles: { p05: number; p25: number; p50: number; p75: number; p95: number } | null;
  /** Most frequent values of text and boolean columns. */
  topValues: { value: string; count: number }[] | null;
  /** Equal-width histogram of numeric columns. */
  histogram: { start: number; end: number; count: number }[] | null;
  /** First and last instant of timestamp and date columns, ISO 8601. */
  range: { min: string; max: string } | null;
}

export interface DatasetProfile {
  rowCount: number;
  columns: ColumnProfile[];
}

export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;

/**
 * Distinct counts are exact where that is cheap, and marked as estimates elsewhere. An exact count keeps every
 * distinct value in a hash table. Measured on 2 cores: on 10M rows, 20 or 1,000 distinct values cost 30–40 ms a
 * column and 10M distinct values 2.5–4 s, while approx_count_distinct costs about 0.5 s a column whatever the
 * cardinality (and said 18 for 20 values, 1,249 for 1,000). So the counts are exact: of every column of a version of
 * at most EXACT_DISTINCT_ROWS rows; of text and boolean columns always (their top values group every value anyway);
 * of integer columns whose footer range holds at most EXACT_DISTINCT_VALUES values; and of any other column whose
 * estimate is at most that. Each such column holds at most about 100,000 values, and EXACT_DISTINCT_BATCH of them
 * are counted per query: a hundred columns of 100,000 values in one query ran out of the default 512MB, and on 500
 * columns of 100,000 rows batches of 10 took 2.5 s, of 1 (each query reads the footer again) 9.5 s, of 50 3.3 s.
 */
export const EXACT_DISTINCT_ROWS = 100_000;
export const EXACT_DISTINCT_VALUES = 10_000;
export const EXACT_DISTINCT_BATCH = 10;

const num = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v)
    ? v
    : typeof v === 'string' && v !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : null;

/**
 * The work, as SQL builders the ingest benchmark replays on bare DuckDB:
 * 1. the numeric columns' ranges and the row count from the Parquet footer (no data is read);
 * 2. one pass over the data: summary aggregates of every column plus the histograms of the numeric columns,
 *    whose equal-width bins come from those ranges;
 * 3. a grouped count per text or boolean column for its top values and its exact distinct count;
 * 4. exact distinct counts of the other columns whose estimate was small (reads only those columns).
 */
export function footerRangesSql(file: string): string {
  return (
    `SELECT path_in_schema AS name, min(TRY_CAST(stats_min_value AS DOUBLE)) AS lo, max(TRY_CAST(stats_max_value AS DOUBLE)) AS hi ` +
    `FROM parquet_metadata(${literal(file)}) GROUP BY path_in_schema`
  );
}

/**
 * `columns` may be a slice of the schema starting at index `offset`: the aliases (`c<i>_…`, `h<i>`) and the ranges'
 * indexes stay those of the whole schema. `countedApart`: columns (schema indexes) that get an exact distinct count
 * of their own, so need no estimate here; text and boolean columns get theirs from their top values.
 */
export function summarySql(
  source: string,
  columns: ColumnSchema[],
  ranges: NumericRange[] = [],
  offset = 0,
  countedApart: ReadonlySet<number> = new Set(),
): string {
  const parts: string[] = ['count(*) AS "__rows"'];
  columns.forEach((col, local) => {
    const i = offset + local;
    const c = ident(col.name);
    const fam = typeFamily(col.type);
    parts.push(`count(${c}) AS "c${i}_count"`);
    if (fam === 'nested' || fam === 'binary') return;
    if (!countedByTopValues(col) && !countedApart.has(i)) parts.push(`approx_count_distinct(${c}) AS "c${i}_distinct"`);
    if (fam === 'integer' || fam === 'float' || fam === 'decimal') {
      const d = `CAST(${c} AS DOUBLE)`;
      parts.push(
        `min(${d}) AS "c${i}_min"`,
        `max(${d}) AS "c${i}_max"`,
        `avg(${d}) AS "c${i}_mean"`,
        `stddev_samp(${d}) AS "c${i}_std"`,
      );
      parts.push(`approx_quantile(${d}, [0.05, 0.25, 0.5, 0.75, 0.95]) AS "c${i}_q"`);
    } else if (fam === 'timestamp') {
      parts.push(`${isoTimestamp(`min(${c})`)} AS "c${i}_min"`, `${isoTimestamp(`max(${c})`)} AS "c${i}_max"`);
    } else if (fam === 'date') {
      parts.push(`strftime(min(${c}), '%Y-%m-%d') AS "c${i}_min"`, `strftime(max(${c}), '%Y-%m-%d') AS "c${i}_max"`);
    } else if (fam === 'boolean') {
      parts.push(`bool_and(${c}) AS "c${i}_min"`, `bool_or(${c}) AS "c${i}_max"`);
    } else {
      parts.push(`CAST(min(${c}) AS VARCHAR) AS "c${i}_min"`, `CAST(max(${c}) AS VARCHAR) AS "c${i}_max"`);
    }
  });
  for (const { index, min, max } of ranges) {
    const c = `CAST(${ident(columns[index - offset]!.name)} AS DOUBLE)`;
    const width = (max - min) / HISTOGRAM_BINS;
    // Bin i covers [min + i*width, min + (i+1)*width); the maximum falls in the last bin. Clamped both ways in
    // case a footer statistic was rounded.
    const bin =
      width > 0 ? `greatest(0, least(CAST(floor((${c} - ${min}) / ${width}) AS INTEGER), ${HISTOGRAM_BINS - 1}))` : '0';
    parts.push(`histogram(${bin}) FILTER (WHERE ${c} IS NOT NULL AND isfinite(${c})) AS "h${index}"`);
  }
  return `SELECT ${parts.join(', ')} FROM ${source}`;
}

export interface NumericRange {
  /** Index of the column in the schema. */
  index: number;
  min: number;
  max: number;
}

/** Finite ranges of the numeric columns, from the footer statistics DuckDB wrote with the file. */
export async function footerRanges(
  engine: Engine,
  file: string,
  columns: ColumnSchema[],
  signal?: AbortSignal,
): Promise<NumericRange[]> {
  const stats = new Map((await engine.all(footerRangesSql(file), undefined, signal)).map((r) => [String(r.name), r]));
  const ranges: NumericRange[] = [];
  columns.forEach((col, index) => {
    if (!isNumeric(col.type)) return;
    const lo = num(stats.get(col.name)?.lo);
    const hi = num(stats.get(col.name)?.hi);
    if (lo !== null && hi !== null) ranges.push({ index, min: lo, max: hi });
  });
  return ranges;
}

/** Text and boolean columns: their top values are a grouped count, whose number of groups is the exact distinct count. */
const countedByTopValues = (column: ColumnSchema): boolean => ['text', 'boolean'].includes(typeFamily(column.type));

/** The most frequent values, each row also carrying `groups`: the number of distinct values. */
export function topValuesSql(source: string, column: ColumnSchema): string {
  const c = ident(column.name);
  return `SELECT CAST(${c} AS VARCHAR) AS value, count(*) AS count, count(*) OVER () AS groups FROM ${source} WHERE ${c} IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${TOP_VALUES}`;
}

/** Exact distinct counts of the columns at `indexes` (of `columns`), as `d<index>`. */
export function exactDistinctSql(source: string, columns: ColumnSchema[], indexes: number[]): string {
  return `SELECT ${indexes.map((i) => `count(DISTINCT ${ident(columns[i]!.name)}) AS "d${i}"`).join(', ')} FROM ${source}`;
}

/** Rows of a Parquet file, from its footer. */
export function parquetRowsSql(file: string): string {
  return `SELECT coalesce(sum(num_rows), 0) AS n FROM parquet_file_metadata(${literal(file)})`;
}

export const parquetSource = (file: string): string => `read_parquet(${literal(file)})`;

/**
 * Columns per summary query. Every aggregate keeps its state per thread until the pass ends: with the default 512MB
 * DuckDB memory limit one pass over about 450 columns ran out of memory, whatever the row count (so did ingesting
 * any file of 500 columns). Batches of 100 take the same reads (each reads only its own columns from Parquet).
 */
export const SUMMARY_BATCH_COLUMNS = 100;

async function summaryOf(
  engine: Engine,
  source: string,
  columns: ColumnSchema[],
  ranges: NumericRange[],
  countedApart: ReadonlySet<number>,
  signal?: AbortSignal,
): Promise<Record<string, unknown>> {
  const summary: Record<string, unknown> = {};
  for (let first = 0; first === 0 || first < columns.length; first += SUMMARY_BATCH_COLUMNS) {
    const last = first + SUMMARY_BATCH_COLUMNS;
    const batch = ranges.filter((r) => r.index >= first && r.index < last);
    const [part = {}] = await engine.all(
      summarySql(source, columns.slice(first, last), batch, first, countedApart),
      undefined,
      signal,
    );
    Object.assign(summary, part);
  }
  return summary;
}

/**
 * The columns known, before any data is read, to be cheap to count exactly: every countable one of a small version;
 * otherwise the integer columns whose footer range cannot hold more than EXACT_DISTINCT_VALUES values.
 */
export function countedExactly(columns: ColumnSchema[], rows: number, ranges: NumericRange[]): Set<number> {
  const countable = (c: ColumnSchema) => !['nested', 'binary'].includes(typeFamily(c.type)) && !countedByTopValues(c);
  if (rows <= EXACT_DISTINCT_ROWS) return new Set([...columns.keys()].filter((i) => countable(columns[i]!)));
  return new Set(
    ranges
      .filter((r) => typeFamily(columns[r.index]!.type) === 'integer' && r.max - r.min < EXACT_DISTINCT_VALUES)
      .map((r) => r.index),
  );
}

/** `signal` interrupts the profile's DuckDB queries (an ingest that is cancelled or times out). */
export async function profileParquet(
  engine: Engine,
  file: string,
  columns: ColumnSchema[],
  signal?: AbortSignal,
): Promise<DatasetProfile> {
  const source = parquetSource(file);
  const ranges = await footerRanges(engine, file, columns, signal);
  const [footer] = await engine.all(parquetRowsSql(file), undefined, signal);
  const apart = countedExactly(columns, num(footer?.n) ?? 0, ranges);
  const summary = await summaryOf(engine, source, columns, ranges, apart, signal);
  const rowCount = num(summary.__rows) ?? 0;

  const profiles: ColumnProfile[] = columns.map((col, i) => {
    const fam = typeFamily(col.type);
    const count = num(summary[`c${i}_count`]) ?? 0;
    const isNum = isNumeric(col.type);
    const rawMin = summary[`c${i}_min`];
    const rawMax = summary[`c${i}_max`];
    const q = summary[`c${i}_q`];
    const qs = Array.isArray(q) ? q.map(num) : [];
    const asValue = (v: unknown): ColumnProfile['min'] =>
      v === undefined || v === null ? null : isNum ? num(v) : typeof v === 'boolean' ? v : String(v);
    return {
      name: col.name,
      type: col.type,
      count,
      nulls: rowCount - count,
      // An estimate can exceed the values there are. Nested and binary columns are not counted (0, as ever).
      distinctEstimate: Math.min(num(summary[`c${i}_distinct`]) ?? 0, count),
      distinctExact: false,
      min: asValue(rawMin),
      max: asValue(rawMax),
      mean: isNum ? num(summary[`c${i}_mean`]) : null,
      stddev: isNum ? num(summary[`c${i}_std`]) : null,
      quantiles:
        isNum && qs.length === 5 && qs.every((x) => x !== null)
          ? { p05: qs[0]!, p25: qs[1]!, p50: qs[2]!, p75: qs[3]!, p95: qs[4]! }
          : null,
      topValues: null,
      histogram: null,
      range:
        (fam === 'timestamp' || fam === 'date') && typeof rawMin === 'string' && typeof rawMax === 'string'
          ? { min: rawMin, max: rawMax }
          : null,
    };
  });

  for (const { index, min, max } of ranges) {
    const counts = new Array<number>(HISTOGRAM_BINS).fill(0);
    const raw = summary[`h${index}`];
    // DuckDB's histogram() returns a MAP, which reaches JS as [{key, value}].
    if (Array.isArray(raw)) {
      for (const entry of raw as { key: unknown; value: unknown }[]) {
        const bin = num(entry.key);
        if (bin !== null && bin >= 0 && bin < HISTOGRAM_BINS) counts[bin] = num(entry.value) ?? 0;
      }
    }
    const width = (max - min) / HISTOGRAM_BINS;
    profiles[index]!.histogram =
      width > 0
        ? counts.map((count, b) => ({
            start: min + b * width,
            end: b === HISTOGRAM_BINS - 1 ? max : min + (b + 1) * width,
            count,
          }))
        : [{ start: min, end: max, count: counts[0]! }];
  }

  for (const [i, col] of columns.entries()) {
    if (!countedByTopValues(col)) continue;
    const rows = await engine.all(topValuesSql(source, col), undefined, signal);
    profiles[i]!.topValues = rows.map((r) => ({ value: String(r.value), count: num(r.count) ?? 0 }));
    profiles[i]!.distinctEstimate = num(rows[0]?.groups) ?? 0;
    profiles[i]!.distinctExact = true;
  }

  const exact = [...columns.keys()].filter(
    (i) => apart.has(i) || (`c${i}_distinct` in summary && profiles[i]!.distinctEstimate <= EXACT_DISTINCT_VALUES),
  );
  for (let first = 0; first < exact.length; first += EXACT_DISTINCT_BATCH) {
    const batch = exact.slice(first, first + EXACT_DISTINCT_BATCH);
    const [counts = {}] = await engine.all(exactDistinctSql(source, columns, batch), undefined, signal);
    for (const i of batch) {
      profiles[i]!.distinctEstimate = num(counts[`d${i}`]) ?? 0;
      profiles[i]!.distinctExact = true;
    }
  }
  return { rowCount, columns: profiles };
}

/**
 * A profile as stored with its version. Profiles stored before distinct counts could be exact lack `distinctExact`:
 * theirs were estimates.
 */
export function storedProfile(json: string): DatasetProfile {
  const profile = JSON.parse(json) as DatasetProfile;
  for (const column of profile.columns) column.distinctExact ??= false;
  return profile;
}

export async function parquetSchema(engine: Engine, file: string, signal?: AbortSignal): Promise<ColumnSchema[]> {
  const rows = await engine.all(`DESCRIBE SELECT * FROM ${parquetSource(file)}`, undefined, signal);
  return rows.map((r) => ({ name: String(r.column_name), type: String(r.column_type), nullable: r.null !== 'NO' }));
}
