import { fileRejected } from '../errors.js';

/**
 * What the columns of every ingested file must satisfy, whatever its format: at most WEIR_MAX_COLUMNS of them, and
 * names without control characters. A NUL in a name breaks DuckDB identifiers and PostgreSQL text; a line break or
 * an escape sequence in a name is one in every CSV header, log line and terminal that shows it.
 *
 * Why the cap (measured with the default 512MB DuckDB memory limit, 2 threads): DuckDB's CSV reader and Parquet
 * writer hold buffers per column. Numeric columns convert up to about 5,000 (7,500 fail at any row count); text
 * columns are the costly kind: 200 of them convert at 150,000 rows, 300 fail there, 500 fail at any row count. So
 * the default is 200, and a deployment that needs wider files raises WEIR_DUCKDB_MEMORY_LIMIT with WEIR_MAX_COLUMNS
 * (about 1.5 MiB per text column). The profile reads columns in batches (src/engine/profile.ts), so it is not the bound.
 */

/** C0 controls and DEL, as the rest of the API defines "control characters" (names, tags; NO_CONTROL_CHARACTERS in request schemas). */
// eslint-disable-next-line no-control-regex -- control characters are exactly what column names may not contain
export const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;

/** A 422 `too_many_columns` unless `count` is within `maxColumns`. */
export function checkColumnCount(count: number, maxColumns: number): void {
  if (count <= maxColumns) return;
  throw fileRejected(
    'too_many_columns',
    `The file has ${count} columns; a dataset may have at most ${maxColumns} (WEIR_MAX_COLUMNS). Split it into narrower files or drop columns before uploading.`,
  );
}

/** A 422 `invalid_column_name` naming the first column name that holds a control character (the JSON escape shows which). */
export function checkColumnNames(names: readonly string[], where: { line?: number } = {}): void {
  const name = names.find((n) => CONTROL_CHARACTER.test(n));
  if (name === undefined) return;
  const code = name.charCodeAt(name.search(CONTROL_CHARACTER)).toString(16).toUpperCase().padStart(4, '0');
  const shown = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
  throw fileRejected(
    'invalid_column_name',
    `The column named ${shown} contains the control character U+${code}; rename it without control characters (such as NUL, tab or a line break) and upload again.`,
    where,
  );
}

/**
 * Rows per Parquet row group: DuckDB's default 122,880 up to 64 columns, fewer for wider files so that a group holds
 * about as many cells (a group of every column is in memory until it is written; 1,000 numeric columns ran out of
 * memory at 130,000 rows in one group, and converted in groups of 12,288).
 */
export function rowGroupRows(columns: number): number {
  const rows = Math.floor((122_880 * 64) / Math.max(columns, 1) / 2048) * 2048;
  return Math.min(122_880, Math.max(2048, rows));
}
