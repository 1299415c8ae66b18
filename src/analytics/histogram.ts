import type { Engine } from '../engine/duckdb.js';
import { ident, typeFamily, type ColumnSchema } from '../engine/sql.js';
import { epochMicros, isoOfMicros } from './columns.js';

export interface HistogramBin<T extends number | string = number | string> {
  start: T;
  end: T;
  count: number;
}

export interface Histogram {
  column: string;
  type: string;
  /** Numbers for numeric columns; ISO 8601 instants for timestamp and date columns (bins over epoch time). */
  bins: HistogramBin[];
  /** Values in the bins. */
  count: number;
  /** Rows where the column is null (in no bin). */
  nulls: number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));

/**
 * Equal-width bins over [min, max] of the column; bin i is [start, end) except the last, which holds the maximum.
 * A column of one distinct value has one bin [v, v]; an empty one none. Non-finite floats (NaN, ±Infinity) are in no
 * bin and are not nulls. Two passes over one column: its range, then the counts per bin.
 */
export async function histogram(
  engine: Engine,
  source: string,
  column: ColumnSchema,
  bins: number,
  signal?: AbortSignal,
): Promise<Histogram> {
  const temporal = ['timestamp', 'date'].includes(typeFamily(column.type));
  const x = temporal ? `CAST(${epochMicros(column)} AS DOUBLE)` : `CAST(${ident(column.name)} AS DOUBLE)`;
  const [range = {}] = await engine.all(
    `SELECT min(x) FILTER (WHERE isfinite(x)) AS lo, max(x) FILTER (WHERE isfinite(x)) AS hi, count(*) - count(x) AS nulls ` +
      `FROM (SELECT ${x} AS x FROM ${source})`,
    undefined,
    signal,
  );
  const nulls = num(range.nulls);
  const shown = (v: number) => (temporal ? isoOfMicros(v) : v);
  if (typeof range.lo !== 'number' || typeof range.hi !== 'number')
    return { column: column.name, type: column.type, bins: [], count: 0, nulls };
  const lo = range.lo;
  const hi = range.hi;
  const width = (hi - lo) / bins;
  // One value (or bins collapsing to nothing) is one bin holding everything.
  const single = !(width > 0);
  const binOf = single ? '0' : `least(CAST(floor((x - $1) / $2) AS BIGINT), ${bins - 1})`;
  const rows = await engine.all(
    `SELECT ${binOf} AS bin, count(*) AS n FROM (SELECT ${x} AS x FROM ${source}) WHERE isfinite(x) GROUP BY 1`,
    single ? undefined : [lo, width],
    signal,
  );
  const counts = new Array<number>(single ? 1 : bins).fill(0);
  for (const r of rows) counts[num(r.bin)] = num(r.n);
  const result: HistogramBin[] = single
    ? [{ start: shown(lo), end: shown(hi), count: counts[0]! }]
    : counts.map((count, b) => ({
        start: shown(lo + b * width),
        end: shown(b === bins - 1 ? hi : lo + (b + 1) * width),
        count,
      }));
  return { column: column.name, type: column.type, bins: result, count: counts.reduce((a, b) => a + b, 0), nulls };
}
