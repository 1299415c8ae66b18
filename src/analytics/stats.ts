import type { Engine } from '../engine/duckdb.js';
import { ident, isNumeric, type ColumnSchema } from '../engine/sql.js';

/** More numeric columns than this are left out of the matrix (50 columns are 1,275 aggregates in one pass). */
export const MAX_CORRELATION_COLUMNS = 50;

export interface Correlation {
  method: 'pearson';
  /** The numeric columns in the matrix, in schema order. */
  columns: string[];
  /** matrix[i][j]: Pearson's r over the rows where both are non-null; null where undefined (a constant or empty column). */
  matrix: (number | null)[][];
  /** Numeric columns of the version; more than `columns` when the matrix was capped. */
  numericColumns: number;
  /** Set when the version has more numeric columns than the matrix holds (the first MAX_CORRELATION_COLUMNS are in it). */
  truncated: boolean;
}

export interface MissingValues {
  rows: number;
  columns: { name: string; nulls: number; fraction: number }[];
  /** Rows with a null in at least one column. */
  rowsWithNulls: number;
  rowsWithNullsFraction: number;
  /** Null cells over all columns. */
  totalNulls: number;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v ?? 0));
const fraction = (part: number, whole: number) => (whole === 0 ? 0 : part / whole);

/** The correlation matrix of the numeric columns and the missing-value summary of every column, in one pass. */
export async function correlationAndMissing(
  engine: Engine,
  source: string,
  schema: readonly ColumnSchema[],
  signal?: AbortSignal,
): Promise<{ correlation: Correlation; missing: MissingValues }> {
  const numeric = schema.filter((c) => isNumeric(c.type));
  const inMatrix = numeric.slice(0, MAX_CORRELATION_COLUMNS);
  const d = (c: ColumnSchema) => `CAST(${ident(c.name)} AS DOUBLE)`;
  const parts = ['count(*) AS "rows"'];
  parts.push(
    `count(*) FILTER (WHERE ${schema.length > 0 ? schema.map((c) => `${ident(c.name)} IS NULL`).join(' OR ') : 'false'}) AS "incomplete"`,
  );
  schema.forEach((c, i) => parts.push(`count(${ident(c.name)}) AS "n${i}"`));
  // The diagonal too: corr(x, x) is 1, or null for a column without variance.
  for (let i = 0; i < inMatrix.length; i++) {
    for (let j = i; j < inMatrix.length; j++)
      parts.push(`corr(${d(inMatrix[i]!)}, ${d(inMatrix[j]!)}) AS "r${i}_${j}"`);
  }
  const [row = {}] = await engine.all(`SELECT ${parts.join(', ')} FROM ${source}`, undefined, signal);

  const rows = num(row.rows);
  const matrix = inMatrix.map((_, i) =>
    inMatrix.map((__, j) => {
      const r = row[i <= j ? `r${i}_${j}` : `r${j}_${i}`];
      if (typeof r !== 'number') return null;
      // corr(x, x) is 1 up to rounding whenever it is defined; elsewhere rounding can carry r a hair past ±1.
      return i === j ? 1 : Math.max(-1, Math.min(1, r));
    }),
  );
  const columns = schema.map((c, i) => {
    const nulls = rows - num(row[`n${i}`]);
    return { name: c.name, nulls, fraction: fraction(nulls, rows) };
  });
  const rowsWithNulls = num(row.incomplete);
  return {
    correlation: {
      method: 'pearson',
      columns: inMatrix.map((c) => c.name),
      matrix,
      numericColumns: numeric.length,
      truncated: numeric.length > inMatrix.length,
    },
    missing: {
      rows,
      columns,
      rowsWithNulls,
      rowsWithNullsFraction: fraction(rowsWithNulls, rows),
      totalNulls: columns.reduce((a, c) => a + c.nulls, 0),
    },
  };
}
