import type { Engine } from '../engine/duckdb.js';
import { ident, isoTimestamp, typeFamily, type ColumnSchema } from '../engine/sql.js';

export interface ValueCounts {
  column: string;
  type: string;
  /** Most frequent first; ties in the column's own order (numbers numerically), null after every value. */
  values: { value: string | null; count: number }[];
  /** Distinct values, null counting as one. */
  distinct: number;
  /** Rows whose value is not in `values`. */
  otherCount: number;
  rows: number;
}

/** Values as text: timestamps and dates as ISO 8601, everything else as DuckDB writes it. */
function asText(column: ColumnSchema, expr: string): string {
  switch (typeFamily(column.type)) {
    case 'timestamp':
      return isoTimestamp(expr);
    case 'date':
      return `strftime(${expr}, '%Y-%m-%d')`;
    default:
      return `CAST(${expr} AS VARCHAR)`;
  }
}

/** The `limit` most frequent values of a column, in one grouped pass (the window runs over the groups, not the rows). */
export async function valueCounts(
  engine: Engine,
  source: string,
  column: ColumnSchema,
  limit: number,
  signal?: AbortSignal,
): Promise<ValueCounts> {
  const c = ident(column.name);
  const rows = await engine.all(
    `SELECT ${asText(column, 'v')} AS value, n, count(*) OVER () AS distinct_values, sum(n) OVER () AS total ` +
      `FROM (SELECT ${c} AS v, count(*) AS n FROM ${source} GROUP BY 1) ORDER BY n DESC, v ASC NULLS LAST LIMIT ${limit}`,
    undefined,
    signal,
  );
  const values = rows.map((r) => ({ value: r.value === null ? null : String(r.value), count: Number(r.n) }));
  const total = rows.length > 0 ? Number(rows[0]!.total) : 0;
  return {
    column: column.name,
    type: column.type,
    values,
    distinct: rows.length > 0 ? Number(rows[0]!.distinct_values) : 0,
    otherCount: total - values.reduce((a, v) => a + v.count, 0),
    rows: total,
  };
}
