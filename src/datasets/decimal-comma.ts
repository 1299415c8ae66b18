import { ident, literal } from '../engine/sql.js';

/**
 * Numbers written with a decimal comma (`12,5`), as spreadsheets in much of Europe export them, with `;` (or tab)
 * between the fields. The sniffer decides from its sample; DuckDB then reads the columns it types itself with
 * `decimal_separator = ','`, which is strict (a later `12.5` in such a column is a conversion error, and the column
 * is widened to text like any value that does not fit its sampled type). Columns whose numbers group thousands with
 * dots (`1.234,5`) are read as text and converted by `thousandsNumberSql` with an exact pattern instead: DuckDB's own
 * `thousands` option drops every dot, so it would read a stray `1.2` as 12.
 */

/** `12,5`, `-0,25`, `1.234,5`: a decimal comma, optionally after dot-grouped thousands. */
const COMMA_DECIMAL = /^[-+]?(\d+|\d{1,3}(\.\d{3})+),\d+$/;
/** `12.5`, `.5`, `1.5e3`: a decimal point that cannot be a thousands group (`1.234` could be either). */
const POINT_DECIMAL = /^[-+]?\d*\.\d+([eE][-+]?\d+)?$/;
const THOUSANDS_ONLY = /^[-+]?\d{1,3}(\.\d{3})+$/;
/** A number of a decimal-comma file: plain or dot-grouped digits, an optional decimal part. */
const GROUPED_NUMBER = '[-+]?(\\d{1,3}(\\.\\d{3})+|\\d+)(,\\d+)?';
const GROUPED = new RegExp(`^${GROUPED_NUMBER}$`);

export interface DecimalFormat {
  decimal: '.' | ',';
  /** Indexes of the columns whose every sampled value is a number of GROUPED_NUMBER with at least one dot group. */
  thousandsColumns: number[];
}

/**
 * The decimal separator of the sampled data rows (`rows`: fields per record): a comma when the fields are not
 * comma-separated, some value has a decimal comma and none has a decimal point. A file with both keeps the point:
 * its comma numbers stay text, which loses nothing.
 */
export function sniffDecimalFormat(rows: readonly (readonly string[])[], delimiter: string): DecimalFormat {
  const plain: DecimalFormat = { decimal: '.', thousandsColumns: [] };
  if (delimiter === ',') return plain;
  let commas = 0;
  for (const row of rows) {
    for (const raw of row) {
      const v = raw.trim();
      if (POINT_DECIMAL.test(v) && !THOUSANDS_ONLY.test(v)) return plain;
      if (COMMA_DECIMAL.test(v)) commas++;
    }
  }
  if (commas === 0) return plain;
  const width = Math.max(0, ...rows.map((r) => r.length));
  const thousandsColumns: number[] = [];
  for (let c = 0; c < width; c++) {
    const values = rows.map((r) => (r[c] ?? '').trim()).filter((v) => v !== '');
    if (values.some((v) => v.includes('.')) && values.every((v) => GROUPED.test(v))) thousandsColumns.push(c);
  }
  return { decimal: ',', thousandsColumns };
}

const trimmed = (column: string) => `trim(${ident(column)})`;

/**
 * The DOUBLE of a text column of dot-grouped, decimal-comma numbers. A value of another shape raises a
 * "Could not convert" error, which sends the conversion to its full type scan (see convert.ts), never to a null.
 */
export function thousandsNumberSql(column: string): string {
  const v = trimmed(column);
  return (
    `CASE WHEN ${v} IS NULL OR ${v} = '' THEN NULL ` +
    `WHEN regexp_full_match(${v}, ${literal(GROUPED_NUMBER)}) THEN CAST(replace(replace(${v}, '.', ''), ',', '.') AS DOUBLE) ` +
    `ELSE error('Could not convert a value with a decimal comma to a number') END`
  );
}

/** Whether every value of a text column is empty or a number `thousandsNumberSql` converts (one boolean per column, in a scan). */
export function thousandsParseableSql(column: string): string {
  const v = trimmed(column);
  return `coalesce(bool_and(${v} IS NULL OR ${v} = '' OR regexp_full_match(${v}, ${literal(GROUPED_NUMBER)})), true)`;
}
